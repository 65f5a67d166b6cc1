/**
 * A refund reserved in D1 whose Worker died before it asked Stripe: the hourly holds job sends it
 * again after a grace period, with the same idempotency key, a few per run (real SDK, the fake).
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createDb } from '../../src/db/client'
import { reconcileHolds } from '../../src/payments/reconcile'
import { refundProvider } from '../../src/payments/refund-provider'
import { reserveRefund } from '../../src/payments/refund-queries'
import {
  MAX_REFUNDS_PER_RUN,
  retryStalledRefunds,
  STALLED_REFUND_AFTER_MS,
} from '../../src/payments/refund-retry'
import { fakeStripe, stripeEnv, stripeRequests } from '../checkout/support'
import { call } from '../helpers'
import { paidPayment, paymentRow } from './support'

const stripeBindings = () => ({ ...env, ...stripeEnv() }) as Env

/** What a request that died right after its reservation leaves behind: a pending refund. */
async function stalledRefund(payment: { id: string }, amount: number) {
  const [row] = (
    await env.DB.prepare('select merchant_id from payments where id = ?')
      .bind(payment.id)
      .all<{ merchant_id: string }>()
  ).results
  const reservation = await reserveRefund(createDb(env.DB), {
    paymentId: payment.id,
    merchantId: row?.merchant_id ?? '',
    amount,
    reason: null,
    idempotencyKey: null,
    actor: 'api_key:key_test',
  })
  if (reservation.kind !== 'reserved') throw new Error(reservation.kind)
  return reservation.refund
}

const sentFor = async (refundId: string) =>
  (await stripeRequests()).filter(
    (r) => r.method === 'POST' && r.path === '/v1/refunds' && r.idempotencyKey === refundId,
  )

const refundRow = (id: string) =>
  env.DB.prepare('select * from refunds where id = ?')
    .bind(id)
    .first<{ status: string; provider_refund_id: string | null; updated_at: number }>()

describe('refunds that never reached Stripe', () => {
  it('one that did reach Stripe (the answer was lost) is answered the same refund: made once', async () => {
    const { payment } = await paidPayment()
    const refund = await stalledRefund(payment, 150)
    const full = await env.DB.prepare('select * from payments where id = ?')
      .bind(payment.id)
      .first<{ provider_payment_id: string; session_id: string }>()
    // The dead Worker's own call, made with the refund id as its idempotency key.
    const first = await refundProvider(stripeBindings(), { provider: 'stripe' }).createRefund({
      refundId: refund.id,
      paymentId: payment.id,
      providerPaymentId: full?.provider_payment_id ?? null,
      sessionId: full?.session_id ?? null,
      amount: 150,
      currency: 'eur',
      reason: null,
    })
    expect((await refundRow(refund.id))?.status).toBe('pending')
    await retryStalledRefunds(stripeBindings(), refund.updatedAt + STALLED_REFUND_AFTER_MS)
    expect(await sentFor(refund.id)).toHaveLength(2)
    expect(await refundRow(refund.id)).toMatchObject({
      status: 'succeeded',
      provider_refund_id: first.providerRefundId,
    })
    expect((await paymentRow(payment.id)).refunded_amount).toBe(150)
  })

  it('are sent again by the hourly job after the grace, once, with the same key', async () => {
    const { key, payment } = await paidPayment()
    const refund = await stalledRefund(payment, 200)
    // Held meanwhile: nothing more than what remains can be refunded.
    const over = await call(`/api/v1/payments/${payment.id}/refunds`, {
      method: 'POST',
      key,
      json: { amount: 300 },
      env: stripeEnv(),
    })
    expect(over.status).toBe(400)

    // Within the grace its own request may still be on its way: left alone.
    await reconcileHolds(stripeBindings(), refund.updatedAt + STALLED_REFUND_AFTER_MS - 1)
    expect(await sentFor(refund.id)).toHaveLength(0)

    const due = refund.updatedAt + STALLED_REFUND_AFTER_MS
    const ran = await reconcileHolds(stripeBindings(), due)
    expect(ran?.refunds).toMatchObject({ sent: 1 })
    expect(await sentFor(refund.id)).toHaveLength(1)
    expect((await sentFor(refund.id))[0]?.params).toMatchObject({ amount: '200' })
    const after = await refundRow(refund.id)
    expect(after).toMatchObject({ status: 'succeeded', provider_refund_id: expect.any(String) })
    expect(await paymentRow(payment.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_amount: 200,
    })

    // Sent: later runs leave it alone.
    await reconcileHolds(stripeBindings(), due + 3_600_000)
    expect(await sentFor(refund.id)).toHaveLength(1)
  })

  it('are bounded per run', async () => {
    const { payment } = await paidPayment(1000)
    const stalled = []
    for (let i = 0; i < MAX_REFUNDS_PER_RUN + 2; i++)
      stalled.push(await stalledRefund(payment, 100))
    const now = Date.now() + STALLED_REFUND_AFTER_MS + 60_000
    expect(await retryStalledRefunds(stripeBindings(), now)).toMatchObject({
      sent: MAX_REFUNDS_PER_RUN,
    })
    const sent = await Promise.all(stalled.map(async (r) => (await sentFor(r.id)).length))
    expect(sent.reduce((a, b) => a + b, 0)).toBe(MAX_REFUNDS_PER_RUN)
    expect(await retryStalledRefunds(stripeBindings(), now + 3_600_000)).toMatchObject({ sent: 2 })
    expect(await paymentRow(payment.id)).toMatchObject({ refunded_amount: 500 })
  })

  it('stay pending (still reserved) while Stripe is unreachable, and go out on a later run', async () => {
    const { payment } = await paidPayment()
    const refund = await stalledRefund(payment, 450)
    const due = refund.updatedAt + STALLED_REFUND_AFTER_MS
    // The SDK retries twice: three failures make the call fail.
    await fakeStripe('fail-next', { status: 500, type: 'api_error', times: 3 })
    expect(await retryStalledRefunds(stripeBindings(), due)).toMatchObject({ unreachable: 1 })
    expect(await refundRow(refund.id)).toMatchObject({ status: 'pending', updated_at: due })
    // Touched: its grace starts again.
    expect(await retryStalledRefunds(stripeBindings(), due + 1)).toMatchObject({ sent: 0 })
    expect(
      await retryStalledRefunds(stripeBindings(), due + STALLED_REFUND_AFTER_MS),
    ).toMatchObject({ sent: 1 })
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'refunded' })
  })
})
