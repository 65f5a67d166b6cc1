/** Which provider takes payments here: Stripe when configured, else test mode outside production. */
import type { Db } from '../db/client'
import type { Bindings } from '../env'
import { isProduction } from '../lib/environment'
import { type PaymentProvider, ProviderError } from './provider'
import { stripeProvider } from './stripe'
import { testModeProvider } from './test-mode'

/** `account`: the connected account every Stripe call is made for (null: the deployment's own). */
export function paymentProvider(
  env: Bindings,
  db: Db,
  base: string,
  account: string | null = null,
): PaymentProvider {
  if (env.STRIPE_SECRET_KEY) return stripeProvider(env, account)
  if (isProduction(env)) {
    throw new ProviderError('Payments are not configured: set STRIPE_SECRET_KEY.')
  }
  return testModeProvider(db, base)
}
