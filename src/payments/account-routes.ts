/**
 * `GET /api/v1/account`: the merchant's payment account as D1 has it (kept current by the
 * onboarding return page and Stripe's `account.updated` events), and whether its codes can be
 * paid now. Read-only: an account is connected in the admin, on Stripe's hosted pages.
 */
import { z } from '@hono/zod-openapi'
import { type Api, apiRoute, json, security } from '../api/factory'
import { notFound } from '../errors'
import { PAYABLE_REASONS, payability, paymentMode } from '../money/payment-mode'
import { findMerchantAccount, type MerchantAccountRow } from './accounts'

const PaymentAccountObject = z
  .object({
    object: z.literal('payment_account'),
    mode: z.enum(['one_business', 'platform']).nullable().openapi({
      description:
        "The deployment's payment mode: `one_business` pays the deployment's own Stripe account, `platform` each merchant's connected account; null when misconfigured.",
    }),
    payable: z.boolean().openapi({ description: "Whether this merchant's codes can be paid now." }),
    payable_reason: z
      .enum(PAYABLE_REASONS)
      .nullable()
      .openapi({ description: 'Why not, when `payable` is false.' }),
    stripe_account_id: z
      .string()
      .nullable()
      .openapi({ description: 'The connected Stripe account (platform mode), once made.' }),
    charges_enabled: z.boolean(),
    payouts_enabled: z.boolean(),
    details_submitted: z.boolean(),
    requirements_due: z
      .array(z.string())
      .openapi({ description: "Stripe's `requirements.currently_due`." }),
    disabled_reason: z
      .string()
      .nullable()
      .openapi({ description: "Stripe's `requirements.disabled_reason`." }),
    updated_at: z
      .string()
      .nullable()
      .openapi({ description: 'When Stripe last told us this; null before it has.' }),
  })
  .openapi('PaymentAccount')

export function presentAccount(
  env: Parameters<typeof payability>[0],
  a: MerchantAccountRow,
): z.infer<typeof PaymentAccountObject> {
  const pay = payability(env, a)
  return {
    object: 'payment_account',
    mode: paymentMode(env),
    payable: pay.payable,
    payable_reason: pay.payable ? null : pay.reason,
    stripe_account_id: a.stripeAccountId,
    charges_enabled: a.stripeChargesEnabled,
    payouts_enabled: a.stripePayoutsEnabled,
    details_submitted: a.stripeDetailsSubmitted,
    requirements_due: a.stripeRequirementsDue,
    disabled_reason: a.stripeDisabledReason,
    updated_at: a.stripeAccountUpdatedAt ? new Date(a.stripeAccountUpdatedAt).toISOString() : null,
  }
}

export function registerAccountRoutes(api: Api) {
  api.openapi(
    apiRoute({
      method: 'get',
      path: '/account',
      operationId: 'getAccount',
      tags: ['Account'],
      security,
      scope: 'payments:read',
      summary: "The merchant's payment account",
      responses: { 200: json(PaymentAccountObject, 'The payment account and its state.') },
    }),
    async (c) => {
      const account = await findMerchantAccount(c.var.db, c.var.auth.merchantId)
      if (!account) throw notFound('merchant')
      return c.json(presentAccount(c.env, account), 200)
    },
  )
}
