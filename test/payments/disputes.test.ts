/**
 * Disputes: Stripe's signed `charge.dispute.*` events mark the payment disputed, then won or
 * lost, once and forward only; the test-mode provider's dispute page does the same offline.
 */
import { describe, expect, it, vi } from 'vitest'
import { chooseOutcome, fakeStripe, pay, sessionEvent, signedWebhook } from '../checkout/support'
import { call, merchantWithCode, postForm } from '../helpers'
import { paidPayment, paymentRow, stripeEvent } from './support'

describe('disputes from Stripe (signed events, fake Stripe)', () => {
  it('created → under review → won, shown in the API; late or repeated events change nothing', async () => {
    const { key, payment } = await paidPayment()
    const intent = (await paymentRow(payment.id)).provider_payment_id
    expect(intent).toMatch(/^pi_/)
    const dispute = (await fakeStripe(`charges/${intent}/dispute`, {})) as { id: string }
    const created = await stripeEvent('charge.dispute.created', dispute.id)
    expect(await created.json()).toMatchObject({ handled: true })
    expect(await paymentRow(payment.id)).toMatchObject({
      status: 'paid',
      dispute_status: 'needs_response',
      dispute_amount: 450,
    })

    await fakeStripe(`disputes/${dispute.id}/status`, { status: 'under_review' })
    await stripeEvent('charge.dispute.updated', dispute.id)
    expect((await paymentRow(payment.id)).dispute_status).toBe('under_review')
    await fakeStripe(`disputes/${dispute.id}/status`, { status: 'won' })
    const closed = await stripeEvent('charge.dispute.closed', dispute.id, 'evt_dispute_closed_1')
    expect(closed.status).toBe(200)
    expect((await paymentRow(payment.id)).dispute_status).toBe('won')

    // An old `needs_response` arriving late does not reopen it.
    const late = sessionEvent('charge.dispute.updated', {
      id: dispute.id,
      object: 'dispute',
      amount: 450,
      currency: 'eur',
      payment_intent: intent,
      status: 'needs_response',
      created: Math.floor(Date.now() / 1000),
    })
    expect((await signedWebhook(late)).status).toBe(200)
    expect((await paymentRow(payment.id)).dispute_status).toBe('won')

    const api = (await (await call(`/api/v1/payments/${payment.id}`, { key })).json()) as {
      dispute: unknown
    }
    expect(api.dispute).toMatchObject({ id: dispute.id, status: 'won', amount: 450 })
  })

  it('lost; and a dispute event in another currency or for more than was paid changes nothing', async () => {
    const { payment } = await paidPayment()
    const intent = (await paymentRow(payment.id)).provider_payment_id
    const forged = (fields: Record<string, unknown>) =>
      sessionEvent('charge.dispute.created', {
        id: 'dp_forged',
        object: 'dispute',
        amount: 450,
        currency: 'eur',
        payment_intent: intent,
        status: 'needs_response',
        created: 1,
        ...fields,
      })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      for (const fields of [{ currency: 'jpy' }, { amount: 451 }]) {
        const response = await signedWebhook(forged(fields))
        expect(await response.json()).toMatchObject({ handled: false })
      }
    } finally {
      warn.mockRestore()
    }
    expect((await paymentRow(payment.id)).dispute_status).toBeNull()

    const dispute = (await fakeStripe(`charges/${intent}/dispute`, {})) as { id: string }
    await fakeStripe(`disputes/${dispute.id}/status`, { status: 'lost' })
    await stripeEvent('charge.dispute.closed', dispute.id)
    expect((await paymentRow(payment.id)).dispute_status).toBe('lost')
  })
})

describe('disputes in test mode', () => {
  it('the test page opens a dispute on a paid payment and closes it lost', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 700,
      description: 'x',
    })
    const pressed = await pay(code.slug)
    const checkoutUrl = pressed.headers.get('location') ?? ''
    await chooseOutcome(checkoutUrl, 'paid')
    const session = checkoutUrl.split('/').pop() ?? ''
    const page = await call(`/test-mode/disputes/${session}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('TEST MODE')
    expect((await postForm(`/test-mode/disputes/${session}`, { step: 'open' })).status).toBe(303)
    expect((await postForm(`/test-mode/disputes/${session}`, { step: 'lost' })).status).toBe(303)
    expect((await postForm(`/test-mode/disputes/${session}`, { step: 'open' })).status).toBe(303)
    const list = (await (await call(`/api/v1/payments?code_id=${code.id}`, { key })).json()) as {
      data: { dispute: { status: string } | null }[]
    }
    expect(list.data[0]?.dispute).toMatchObject({ status: 'lost', amount: 700 })
    expect((await call('/test-mode/disputes/test_cs_nope')).status).toBe(404)
  })
})
