/** What a payment operation needs from the request that asked for it, as plain data. */
import { createDb, type Db } from '../db/client'
import type { Bindings } from '../env'
import { publicBase } from '../lib/urls'

export interface PaymentContext {
  env: Bindings
  db: Db
  /**
   * Our public base URL: where a provider sends the customer back to. Read when a link is built,
   * not before: in production without PUBLIC_BASE_URL it throws (lib/urls.ts), and a webhook or a
   * return page, which build none, must still work.
   */
  readonly base: string
  /** The request's own origin: whose cached copy of a code a settled payment drops. */
  origin: string
}

export function paymentContext(env: Bindings, requestUrl: string): PaymentContext {
  return {
    env,
    db: createDb(env.DB),
    get base() {
      return publicBase(env, requestUrl)
    },
    origin: new URL(requestUrl).origin,
  }
}
