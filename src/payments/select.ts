/** Which provider takes payments here: Stripe when configured, else test mode outside production. */
import type { Db } from '../db/client'
import type { Bindings } from '../env'
import { type PaymentProvider, ProviderError } from './provider'
import { stripeProvider } from './stripe'
import { testModeProvider } from './test-mode'

export const isProduction = (env: Bindings) => env.ENVIRONMENT === 'production'

/** True when payments run through the offline test-mode provider (every page then says so). */
export const isTestMode = (env: Bindings) => !env.STRIPE_SECRET_KEY && !isProduction(env)

export function paymentProvider(env: Bindings, db: Db, base: string): PaymentProvider {
  if (env.STRIPE_SECRET_KEY) return stripeProvider(env)
  if (isProduction(env)) {
    throw new ProviderError('Payments are not configured: set STRIPE_SECRET_KEY.', false)
  }
  return testModeProvider(db, base)
}
