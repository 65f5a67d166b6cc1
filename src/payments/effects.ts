/** What follows a payment's state change, whoever reported it (Stripe's webhook or test mode). */
import type { Payment } from '../db/schema'
import type { Bindings } from '../env'
import { forgetCode } from '../scan/resolve'

/**
 * Runs after every applied or repeated event, so it must be idempotent: a webhook that failed
 * half-way is retried by Stripe and lands here again.
 */
export async function afterPaymentEvent(
  _env: Bindings,
  payment: Payment,
  slug: string,
  origin: string,
) {
  // A paid payment can sell a limited code out: drop cached copies so scans show it at once here.
  if (payment.status === 'paid') await forgetCode(slug, origin)
}
