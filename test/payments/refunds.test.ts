/**
 * Refunds through the API, the real Stripe SDK against the in-repo fake, and Stripe's signed
 * events: the amount is reserved in D1 before Stripe is asked, and the payment's refunded state
 * follows Stripe's answers and events only.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import {
  chooseOutcome,
  fakeStripe,
  pay,
  sessionEvent,
  signedWebhook,
  stripeEnv,
  stripeRequests,
} from '../checkout/support'
import { call, merchantWithCode, problemOf } from '../helpers'
import { type PaymentRow, paidPayment, paymentRow, stripeEvent } from './support'

function refund(
  key: string,
  paymentId: string,
  body?: Record<string, unknown>,
  idempotencyKey?: string,
) {
  return call(`/api/v1/payments/${paymentId}/refunds`, {
    method: 'POST',
    key,
    json: body ?? {},
    headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    env: stripeEnv(),
  })
}

type RefundBody = { id: string; status: string; amount: number; provider_refund_id: string }

const refundsSent = async (paymentId?: string) =>
  (await stripeRequests()).filter(
    (r) =>
      r.method === 'POST' &&
      r.path === '/v1/refunds' &&
      (!paymentId || (r.params.metadata as Record<string, string>)?.payment_id === paymentId),
  )

describe('refunds (real SDK against the fake Stripe)', () => {
  it('pay → partial refund → refund the rest: partially_refunded, then refunded, from Stripe only', async () => {
    const { key, payment } = await paidPayment()
    const first = await refund(key, payment.id, { amount: 200, reason: 'requested_by_customer' })
    expect(first.status).toBe(201)
    const one = (await first.json()) as RefundBody
    expect(one).toMatchObject({ amount: 200, status: 'succeeded', object: 'refund' })
    const [sent] = await refundsSent(payment.id)
    expect(sent?.idempotencyKey).toBe(one.id)
    expect(sent?.params).toMatchObject({ amount: '200', reason: 'requested_by_customer' })
    expect(await paymentRow(payment.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_amount: 200,
    })
    // Its events change nothing more, however often they come.
    expect((await stripeEvent('refund.updated', one.provider_refund_id)).status).toBe(200)
    const charge = await chargeOf(payment)
    expect(charge).toMatch(/^ch_/)
    expect((await stripeEvent('charge.refunded', charge)).status).toBe(200)
    expect((await paymentRow(payment.id)).refunded_amount).toBe(200)

    const rest = await refund(key, payment.id)
    expect(rest.status).toBe(201)
    expect(((await rest.json()) as RefundBody).amount).toBe(250)
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'refunded', refunded_amount: 450 })

    const api = await call(`/api/v1/payments/${payment.id}`, { key })
    expect(await api.json()).toMatchObject({ status: 'refunded', refunded_amount: 450 })
    const list = await call(`/api/v1/payments/${payment.id}/refunds`, { key })
    const { data } = (await list.json()) as { data: RefundBody[] }
    expect(data.map((r) => [r.amount, r.status])).toEqual([
      [200, 'succeeded'],
      [250, 'succeeded'],
    ])
    // The receipt stays: the sale happened.
    expect(
      (
        (await call(`/api/v1/payments/${payment.id}`, { key }).then((r) => r.json())) as {
          receipt_url: string
        }
      ).receipt_url,
    ).toBeTruthy()

    const more = await refund(key, payment.id, { amount: 1 })
    expect(more.status).toBe(400)
    expect((await problemOf(more)).code).toBe('refund_exceeds_remaining')
  })

  it('refuses an unpaid payment (409) and too much (400), sending nothing to Stripe', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    await pay(code.slug, {}, stripeEnv())
    const pending = (await env.DB.prepare('select * from payments where code_id = ?')
      .bind(code.id)
      .first()) as PaymentRow
    const unpaid = await refund(key, pending.id)
    expect(unpaid.status).toBe(409)
    expect((await problemOf(unpaid)).code).toBe('payment_not_refundable')

    const { key: key2, payment } = await paidPayment()
    const tooMuch = await refund(key2, payment.id, { amount: 451 })
    expect(tooMuch.status).toBe(400)
    expect((await problemOf(tooMuch)).code).toBe('refund_exceeds_remaining')
    expect(await refundsSent(pending.id)).toHaveLength(0)
    expect(await refundsSent(payment.id)).toHaveLength(0)
    // Another merchant's payment is not found.
    expect((await refund(key, payment.id)).status).toBe(404)
  })

  it('never refunds more than was paid under concurrent requests: only what fits reaches Stripe', async () => {
    const { key, payment } = await paidPayment(1000)
    const answers = await Promise.all(
      [300, 300, 300, 300, 300].map((amount) => refund(key, payment.id, { amount })),
    )
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses).toEqual([201, 201, 201, 400, 400])
    expect(await refundsSent(payment.id)).toHaveLength(3)
    expect(await paymentRow(payment.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_amount: 900,
    })
  })

  it('answers the same refund for the same Idempotency-Key, and 422 for another body', async () => {
    const { key, payment } = await paidPayment()
    const [a, b] = await Promise.all([
      refund(key, payment.id, { amount: 100 }, 'order-7'),
      refund(key, payment.id, { amount: 100 }, 'order-7'),
    ])
    // One makes the refund; the other is told it is still running (409), or gets its answer.
    const made = [a, b].find((r) => r.status === 201)
    const second = [a, b].find((r) => r !== made)
    expect(made).toBeDefined()
    expect([201, 409]).toContain(second?.status)
    const first = (await made?.json()) as RefundBody
    const again = await refund(key, payment.id, { amount: 100 }, 'order-7')
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(((await again.json()) as RefundBody).id).toBe(first.id)
    const other = await refund(key, payment.id, { amount: 150 }, 'order-7')
    expect(other.status).toBe(422)
    expect((await problemOf(other)).code).toBe('idempotency_key_reused')
    expect(await refundsSent(payment.id)).toHaveLength(1)
    expect((await paymentRow(payment.id)).refunded_amount).toBe(100)
  })

  it('Stripe unreachable: a clear 503, nothing refunded or held, and a retry with the same key works', async () => {
    const { key, payment } = await paidPayment()
    await fakeStripe('fail-next', { status: 500, type: 'api_error', times: 3 })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const failed = await refund(key, payment.id, { amount: 450 }, 'retry-me').finally(() =>
      error.mockRestore(),
    )
    expect(failed.status).toBe(503)
    expect((await problemOf(failed)).code).toBe('provider_unavailable')
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'paid', refunded_amount: 0 })
    const retried = await refund(key, payment.id, { amount: 450 }, 'retry-me')
    expect(retried.status).toBe(201)
    expect(((await retried.json()) as RefundBody).status).toBe('succeeded')
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'refunded', refunded_amount: 450 })
    // Every attempt carried the same idempotency key: Stripe made one refund.
    const sent = await refundsSent(payment.id)
    expect(new Set(sent.map((r) => r.idempotencyKey)).size).toBe(1)
    const charge = (await fakeStripe(`objects/${await chargeOf(payment)}`)) as {
      object?: { amount_refunded?: number }
    }
    expect(charge.object?.amount_refunded).toBe(450)
  })

  it('a refund Stripe fails afterwards shows as failed and gives its amount back', async () => {
    const { key, payment } = await paidPayment()
    await fakeStripe('refunds/fail-next', { failure_reason: 'expired_or_canceled_card' })
    const answered = await refund(key, payment.id, { amount: 450 })
    expect(answered.status).toBe(201)
    const made = (await answered.json()) as RefundBody
    expect(made.status).toBe('pending')
    expect((await paymentRow(payment.id)).status).toBe('paid')
    expect((await stripeEvent('refund.failed', made.provider_refund_id)).status).toBe(200)
    const list = (await (await call(`/api/v1/payments/${payment.id}/refunds`, { key })).json()) as {
      data: (RefundBody & { failure_reason: string })[]
    }
    expect(list.data[0]).toMatchObject({
      status: 'failed',
      failure_reason: 'expired_or_canceled_card',
    })
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'paid', refunded_amount: 0 })
    // A late `refund.updated` saying pending does not bring it back.
    expect(await refund(key, payment.id, { amount: 450 }).then((r) => r.status)).toBe(201)
  })
})

describe('refunds in test mode (no Stripe)', () => {
  it('succeed, except an amount ending in 13, which fails and refunds nothing', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 1000,
      description: 'x',
    })
    const pressed = await pay(code.slug)
    await chooseOutcome(pressed.headers.get('location') ?? '', 'paid')
    const { id } = (await env.DB.prepare('select id from payments where code_id = ?')
      .bind(code.id)
      .first()) as { id: string }
    const post = (amount: number) =>
      call(`/api/v1/payments/${id}/refunds`, { method: 'POST', key, json: { amount } })
    const failing = await post(113)
    expect(failing.status).toBe(201)
    expect(await failing.json()).toMatchObject({ status: 'failed', amount: 113 })
    expect(await paymentRow(id)).toMatchObject({ status: 'paid', refunded_amount: 0 })
    expect(await (await post(1000)).json()).toMatchObject({ status: 'succeeded' })
    expect(await paymentRow(id)).toMatchObject({ status: 'refunded', refunded_amount: 1000 })
  })
})

describe('a refunded payment of a limited code', () => {
  it('keeps its slot: a single-use code stays paid after a full refund', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 500,
      description: 'x',
      max_payments: 1,
    })
    await chooseOutcome((await pay(code.slug)).headers.get('location') ?? '', 'paid')
    const { id } = (await env.DB.prepare('select id from payments where code_id = ?')
      .bind(code.id)
      .first()) as { id: string }
    const refunded = await call(`/api/v1/payments/${id}/refunds`, { method: 'POST', key, json: {} })
    expect(await refunded.json()).toMatchObject({ status: 'succeeded', amount: 500 })
    expect((await paymentRow(id)).status).toBe('refunded')
    const again = await pay(code.slug, {}, {})
    expect(again.status).toBe(410)
    expect(await again.text()).toContain('This has already been paid')
  })

  /** A single-use €5 code paid once in test mode. */
  async function paidSingleUse() {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 500,
      description: 'x',
      max_payments: 1,
    })
    await chooseOutcome((await pay(code.slug)).headers.get('location') ?? '', 'paid')
    const { id } = (await env.DB.prepare('select id from payments where code_id = ?')
      .bind(code.id)
      .first()) as { id: string }
    return { key, code, id }
  }
  const refundOf = (key: string, id: string, json: Record<string, unknown>) =>
    call(`/api/v1/payments/${id}/refunds`, { method: 'POST', key, json })

  it('gives the slot back when asked (reopen_slot): exactly one more payment, audited', async () => {
    const { key, code, id } = await paidSingleUse()
    const refunded = await refundOf(key, id, { reopen_slot: true })
    expect(await refunded.json()).toMatchObject({
      status: 'succeeded',
      amount: 500,
      reopen_slot: true,
      actor: expect.stringMatching(/^api_key:key_/),
    })
    const row = (await env.DB.prepare('select * from payments where id = ?').bind(id).first()) as {
      status: string
      slot_reopened_at: number | null
    }
    expect(row.status).toBe('refunded')
    expect(row.slot_reopened_at).toEqual(expect.any(Number))

    const second = await pay(code.slug, {}, {})
    expect(second.status).toBe(303)
    await chooseOutcome(second.headers.get('location') ?? '', 'paid')
    const third = await pay(code.slug, {}, {})
    expect(third.status).toBe(410)
    expect(await third.text()).toContain('This has already been paid')
  })

  it('a partial refund with reopen_slot reopens only once the payment is fully refunded', async () => {
    const { key, code, id } = await paidSingleUse()
    expect((await refundOf(key, id, { amount: 200, reopen_slot: true })).status).toBe(201)
    expect((await paymentRow(id)).status).toBe('partially_refunded')
    expect((await pay(code.slug, {}, {})).status).toBe(410)
    // The rest, without the option: the ask made on the first refund now takes effect.
    expect((await refundOf(key, id, {})).status).toBe(201)
    expect((await paymentRow(id)).status).toBe('refunded')
    expect((await pay(code.slug, {}, {})).status).toBe(303)
  })

  it('the same Idempotency-Key with another reopen_slot is refused (422)', async () => {
    const { key, id } = await paidSingleUse()
    const first = await call(`/api/v1/payments/${id}/refunds`, {
      method: 'POST',
      key,
      json: { amount: 100 },
      headers: { 'idempotency-key': 'k-reopen' },
    })
    expect(first.status).toBe(201)
    const again = await call(`/api/v1/payments/${id}/refunds`, {
      method: 'POST',
      key,
      json: { amount: 100, reopen_slot: true },
      headers: { 'idempotency-key': 'k-reopen' },
    })
    expect(again.status).toBe(422)
    expect((await problemOf(again)).code).toBe('idempotency_key_reused')
  })
})

describe('refund events from Stripe', () => {
  /** A refund object as Stripe would send it, for events the fake's current state cannot show. */
  const refundObject = (payment: PaymentRow, fields: Record<string, unknown>) => ({
    id: 're_dashboard1',
    object: 'refund',
    amount: 150,
    currency: 'eur',
    payment_intent: payment.provider_payment_id,
    metadata: {},
    reason: null,
    status: 'succeeded',
    ...fields,
  })

  it('records a refund made in Stripe (dashboard), once however often its events come, and forward only', async () => {
    const { payment } = await paidPayment()
    const id = `re_dash_${payment.id.slice(-8)}`
    const succeeded = sessionEvent('refund.created', refundObject(payment, { id }))
    expect((await signedWebhook(succeeded)).status).toBe(200)
    expect((await signedWebhook(succeeded)).status).toBe(200)
    expect(
      (await signedWebhook(sessionEvent('charge.refund.updated', refundObject(payment, { id }))))
        .status,
    ).toBe(200)
    expect(await paymentRow(payment.id)).toMatchObject({
      status: 'partially_refunded',
      refunded_amount: 150,
    })
    const rows = await env.DB.prepare('select * from refunds where payment_id = ?')
      .bind(payment.id)
      .all()
    expect(rows.results).toHaveLength(1)
    expect(rows.results[0]).toMatchObject({ actor: 'stripe', status: 'succeeded' })

    // It fails later; then an old `pending` arrives out of order: it stays failed.
    const failed = refundObject(payment, {
      id,
      status: 'failed',
      failure_reason: 'lost_or_stolen_card',
    })
    expect((await signedWebhook(sessionEvent('refund.failed', failed))).status).toBe(200)
    const late = refundObject(payment, { id, status: 'pending' })
    expect((await signedWebhook(sessionEvent('refund.updated', late))).status).toBe(200)
    const lateSucceeded = refundObject(payment, { id, status: 'succeeded' })
    expect((await signedWebhook(sessionEvent('refund.updated', lateSucceeded))).status).toBe(200)
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'paid', refunded_amount: 0 })
  })

  it('ignores a refund event in another currency (450 JPY on a €4.50 payment) or of an unknown payment', async () => {
    const { payment } = await paidPayment()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const yen = refundObject(payment, { id: 're_yen', amount: 450, currency: 'jpy' })
      const response = await signedWebhook(sessionEvent('refund.created', yen))
      expect(await response.json()).toMatchObject({ handled: false })
      const stranger = refundObject(payment, { id: 're_other', payment_intent: 'pi_unknown' })
      expect(
        await (await signedWebhook(sessionEvent('refund.created', stranger))).json(),
      ).toMatchObject({ handled: false })
    } finally {
      warn.mockRestore()
    }
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'paid', refunded_amount: 0 })
  })
})

async function chargeOf(payment: PaymentRow) {
  const pi = (await paymentRow(payment.id)).provider_payment_id
  const intent = (await fakeStripe(`objects/${pi}`)) as { object?: { latest_charge?: string } }
  return String(intent.object?.latest_charge)
}
