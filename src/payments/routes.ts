/** `/api/v1/payments`: read-only; payments change state only through provider events. */
import { z } from '@hono/zod-openapi'
import { type Api, apiRoute, json, notConfigured, security } from '../api/factory'
import { DISPUTE_STATUSES, isPaidStatus, PAYMENT_STATUSES, type Payment } from '../db/schema'
import { notFound } from '../errors'
import { listPage } from '../lib/cursor'
import { listOf, PageQuery } from '../lib/paging'
import { publicBase } from '../lib/urls'
import { StoredCurrency } from '../money/currency'
import { getPayment, listPayments } from './queries'

const tags = ['Payments']
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const PaymentObject = z
  .object({
    id: z.string().openapi({ example: 'pay_3kQ9sT0vB1nC4xY7aZ2mL5' }),
    object: z.literal('payment'),
    code_id: z.string(),
    code_version: z.number().int(),
    amount: z.number().int().openapi({ description: 'Minor units.' }),
    currency: StoredCurrency,
    description: z.string(),
    status: z.enum(PAYMENT_STATUSES),
    provider: z.enum(['stripe', 'test']),
    stripe_account: z.string().nullable().openapi({
      description:
        "The merchant's connected Stripe account (`acct_…`) the payment was made on, in platform mode; null when it was made on the deployment's own account (or in test mode). Its refunds and disputes are on that account.",
      example: null,
    }),
    receipt_url: z.string().nullable().openapi({ description: 'Public receipt, once paid.' }),
    customer_email: z.string().nullable(),
    payment_method: z
      .object({ brand: z.string().nullable(), last4: z.string().nullable() })
      .nullable(),
    failure_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    paid_at: z.string().nullable(),
    refunded_amount: z.number().int().openapi({
      description:
        'Minor units refunded so far (succeeded refunds). `partially_refunded` / `refunded` once above 0.',
    }),
    dispute: z
      .object({
        id: z.string(),
        status: z.enum(DISPUTE_STATUSES),
        amount: z.number().int().nullable().openapi({ description: 'Minor units disputed.' }),
        updated_at: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "The payment's latest dispute (chargeback or inquiry), if any." }),
  })
  .openapi('Payment')

const present = (p: Payment, base: string): z.infer<typeof PaymentObject> => ({
  id: p.id,
  object: 'payment',
  code_id: p.codeId,
  code_version: p.codeVersion,
  amount: p.amount,
  currency: p.currency,
  description: p.description,
  status: p.status,
  provider: p.provider,
  stripe_account: p.stripeAccount,
  receipt_url: isPaidStatus(p.status) ? `${base}/r/${p.receiptId}` : null,
  customer_email: p.customerEmail,
  payment_method: p.methodLast4 ? { brand: p.methodBrand, last4: p.methodLast4 } : null,
  failure_reason: p.failureReason,
  created_at: new Date(p.createdAt).toISOString(),
  updated_at: new Date(p.updatedAt).toISOString(),
  paid_at: iso(p.paidAt),
  refunded_amount: p.refundedAmount,
  dispute:
    p.disputeId && p.disputeStatus
      ? {
          id: p.disputeId,
          status: p.disputeStatus,
          amount: p.disputeAmount,
          updated_at: iso(p.disputeUpdatedAt),
        }
      : null,
})

const Timestamp = z.iso.datetime({ offset: true, message: 'use an ISO 8601 date-time' })

const ListPaymentsQuery = z
  .strictObject({
    code_id: z
      .string()
      .regex(/^code_[0-9A-Za-z]{1,64}$/, 'not a code id')
      .optional(),
    status: z.enum(PAYMENT_STATUSES).optional(),
    from: Timestamp.optional().openapi({ description: 'Created at or after.' }),
    to: Timestamp.optional().openapi({ description: 'Created at or before.' }),
    ...PageQuery.shape,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  })

const PaymentList = listOf(PaymentObject, 'PaymentList')

export function registerPaymentRoutes(api: Api) {
  api.openapi(
    apiRoute({
      method: 'get',
      path: '/payments',
      operationId: 'listPayments',
      tags,
      security,
      scope: 'payments:read',
      summary: 'List payments, newest first',
      request: { query: ListPaymentsQuery },
      responses: { 200: json(PaymentList, 'A page of payments.'), 503: notConfigured },
    }),
    async (c) => {
      const q = c.req.valid('query')
      const base = publicBase(c.env, c.req.url)
      const page = await listPage(
        q,
        (p) =>
          listPayments(c.var.db, c.var.auth.merchantId, {
            codeId: q.code_id,
            status: q.status,
            from: q.from ? Date.parse(q.from) : undefined,
            to: q.to ? Date.parse(q.to) : undefined,
            ...p,
          }),
        (r) => ({ at: r.createdAt, id: r.id }),
        (r) => present(r, base),
      )
      return c.json(page, 200)
    },
  )

  api.openapi(
    apiRoute({
      method: 'get',
      path: '/payments/{id}',
      operationId: 'getPayment',
      tags,
      security,
      scope: 'payments:read',
      summary: 'Get a payment',
      request: {
        params: z.object({
          id: z
            .string()
            .regex(/^pay_[0-9A-Za-z]{1,64}$/, 'not a payment id')
            .openapi({ param: { name: 'id', in: 'path' } }),
        }),
      },
      responses: { 200: json(PaymentObject, 'The payment.'), 503: notConfigured },
    }),
    async (c) => {
      const payment = await getPayment(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
      if (!payment) throw notFound('payment')
      return c.json(present(payment, publicBase(c.env, c.req.url)), 200)
    },
  )
}
