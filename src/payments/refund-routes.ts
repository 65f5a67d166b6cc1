/**
 * `/api/v1/payments/{id}/refunds`: refund a paid payment (all or part of it) and list its
 * refunds. The amount is reserved in D1 before Stripe is asked (refund-queries.ts), so refunds
 * never add up to more than what was paid, also when requests race.
 */
import { z } from '@hono/zod-openapi'
import { type Api, apiRoute, conflict, json, security, unavailable } from '../api/factory'
import { REFUND_REASONS, REFUND_STATUSES, type Refund } from '../db/schema'
import { ApiError, notFound } from '../errors'
import { paymentContext } from './context'
import { getPayment } from './queries'
import { listRefunds } from './refund-queries'
import { type RefundOutcome, refundPayment } from './refunds'

const tags = ['Payments']

export const RefundObject = z
  .object({
    id: z.string().openapi({ example: 'rfd_7Hc2kP9qXv3mN1sT5wB8yZ' }),
    object: z.literal('refund'),
    payment_id: z.string(),
    amount: z.number().int().openapi({ description: 'Minor units.' }),
    currency: z.string(),
    reason: z.enum(REFUND_REASONS).nullable(),
    status: z.enum(REFUND_STATUSES).openapi({
      description:
        '`pending` until Stripe confirms; `succeeded`; `failed` (nothing refunded: see `failure_reason`); `canceled`.',
    }),
    failure_reason: z.string().nullable(),
    provider_refund_id: z.string().nullable().openapi({ description: "Stripe's `re_…`." }),
    actor: z.string().openapi({
      description: '`api_key:key_…`, `admin:key_…`, `admin:link`, or `stripe` (made in Stripe).',
    }),
    reopen_slot: z.boolean().openapi({
      description:
        "Whether `actor` asked to give the payment's slot of a limited code back once it is fully refunded.",
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Refund')

export const presentRefund = (r: Refund): z.infer<typeof RefundObject> => ({
  id: r.id,
  object: 'refund',
  payment_id: r.paymentId,
  amount: r.amount,
  currency: r.currency,
  reason: r.reason,
  status: r.status,
  failure_reason: r.failureReason,
  provider_refund_id: r.providerRefundId,
  actor: r.actor,
  reopen_slot: r.reopenSlot,
  created_at: new Date(r.createdAt).toISOString(),
  updated_at: new Date(r.updatedAt).toISOString(),
})

const RefundList = z
  .object({ object: z.literal('list'), data: z.array(RefundObject) })
  .openapi('RefundList')

const CreateRefund = z
  .strictObject({
    amount: z.number().int().min(1).max(99_999_999).optional().openapi({
      description: 'Minor units; all that remains of the payment when absent.',
    }),
    reason: z.enum(REFUND_REASONS).optional(),
    reopen_slot: z.boolean().optional().openapi({
      description:
        'For a code with `max_payments`: once the payment is fully refunded (by this refund or a later one), it no longer counts toward the limit, so a sold-out code can be paid again. Default false: a refunded payment keeps its slot. Recorded on the refund with its actor.',
    }),
  })
  .openapi('CreateRefund')

const PaymentParam = z.object({
  id: z
    .string()
    .regex(/^pay_[0-9A-Za-z]{1,64}$/, 'not a payment id')
    .openapi({ param: { name: 'id', in: 'path' } }),
})

const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'use 1 to 255 printable ASCII characters')
    .optional()
    .openapi({
      description:
        'The same key on the same payment is the same refund: a retry answers it again (200) instead of refunding twice. Reused with another amount or reason: 422, as for every POST.',
    }),
})

/** What an outcome that is not a refund means to the caller. */
function refusal(outcome: Exclude<RefundOutcome, { kind: 'created' }>): ApiError {
  switch (outcome.kind) {
    case 'not_refundable':
      return new ApiError(409, 'payment_not_refundable', 'Only a paid payment can be refunded.')
    case 'exceeds':
      return new ApiError(
        400,
        'refund_exceeds_remaining',
        `At most ${outcome.remaining} (minor units) remains to be refunded.`,
      )
    case 'key_reused':
      return new ApiError(
        422,
        'idempotency_key_reused',
        `This Idempotency-Key made refund ${outcome.refund.id} for another amount or reason.`,
      )
    case 'refused':
      return new ApiError(
        409,
        'refund_refused',
        `${outcome.message} (refund ${outcome.refund.id}; nothing was refunded).`,
      )
    case 'unavailable':
      return new ApiError(
        503,
        'provider_unavailable',
        `Stripe could not be reached; nothing was refunded (refund ${outcome.refund.id}). Retry with the same Idempotency-Key.`,
        undefined,
        { 'retry-after': '5' },
      )
  }
}

export function registerRefundRoutes(api: Api) {
  api.openapi(
    apiRoute({
      method: 'post',
      path: '/payments/{id}/refunds',
      operationId: 'createRefund',
      tags,
      security,
      scope: 'payments:write',
      summary: 'Refund a payment, all or part of it',
      description:
        "Refunds never add up to more than what was paid, also under concurrent requests. The payment's own `status` and `refunded_amount` follow once Stripe confirms.",
      request: {
        params: PaymentParam,
        headers: IdempotencyHeaders,
        body: {
          required: false,
          content: { 'application/json': { schema: CreateRefund } },
        },
      },
      responses: {
        200: json(RefundObject, 'The refund this Idempotency-Key already made.'),
        201: json(RefundObject, 'The refund, as Stripe answered it.'),
        409: conflict,
        503: unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const body = c.req.valid('json') ?? {}
      const key = c.req.valid('header')['idempotency-key'] ?? null
      const payment = await getPayment(c.var.db, c.var.auth.merchantId, id)
      if (!payment) throw notFound('payment')
      const outcome = await refundPayment(paymentContext(c.env, c.req.url), payment, {
        amount: body.amount ?? null,
        reason: body.reason ?? null,
        idempotencyKey: key,
        actor: `api_key:${c.var.auth.apiKeyId}`,
        reopenSlot: body.reopen_slot ?? false,
      })
      if (outcome.kind !== 'created') throw refusal(outcome)
      return c.json(presentRefund(outcome.refund), outcome.replayed ? 200 : 201)
    },
  )

  api.openapi(
    apiRoute({
      method: 'get',
      path: '/payments/{id}/refunds',
      operationId: 'listRefunds',
      tags,
      security,
      scope: 'payments:read',
      summary: "List a payment's refunds, oldest first",
      request: { params: PaymentParam },
      responses: { 200: json(RefundList, "The payment's refunds.") },
    }),
    async (c) => {
      const payment = await getPayment(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
      if (!payment) throw notFound('payment')
      const rows = await listRefunds(c.var.db, payment.id)
      return c.json({ object: 'list' as const, data: rows.map(presentRefund) }, 200)
    },
  )
}
