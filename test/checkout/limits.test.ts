import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import { call, merchantWithCode, postForm, replaceMethod } from '../helpers'
import { logLine } from '../logs'
import {
  chooseOutcome,
  cookieFrom,
  euroCode,
  fakeStripe,
  limitedCode,
  lostReplyHub,
  paymentsOf,
  press,
  sessionEvent,
  signedWebhook,
  stripeEnv,
} from './support'

describe('limited codes hold under concurrency (guarded by the code hub)', () => {
  it('lets exactly one of 25 simultaneous customers open a session on a single-use code', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 12000,
      description: 'Invoice 114',
      max_payments: 1,
    })
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => press(code.slug, i + 1)),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 303)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(24)
    expect(await paymentsOf(code.id)).toHaveLength(1)
    const busy = responses.find((r) => r.status === 409)
    expect(await busy?.text()).toContain('Someone is paying right now')

    // The one pays; from then on the code is sold out, and nobody else is ever charged.
    const winner = responses.find((r) => r.status === 303)
    await chooseOutcome(winner?.headers.get('location') ?? '', 'paid')
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => press(code.slug, 100 + i)))
    expect(after.map((r) => r.status)).toEqual([410, 410, 410, 410, 410])
    expect((await paymentsOf(code.id)).map((p) => p.status)).toEqual(['paid'])
  })

  it('never lets more than max_payments be paid, however the presses interleave', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 500,
      description: 'Workshop seat',
      max_payments: 3,
    })
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => press(code.slug, i + 1)),
    )
    const opened = responses.filter((r) => r.status === 303)
    expect(opened).toHaveLength(3)
    for (const r of opened) await chooseOutcome(r.headers.get('location') ?? '', 'paid')
    const late = await press(code.slug, 99)
    expect(late.status).toBe(410)
    const paid = (await paymentsOf(code.id)).filter((p) => p.status === 'paid')
    expect(paid).toHaveLength(3)
    const counters = await hubFor(env, code.id).counters()
    expect(counters.paid).toBe(3)
    expect(counters.pay_pressed).toBe(3)
  })

  it('frees the slot when a payment fails', async () => {
    const { code } = await limitedCode(1)
    const first = await press(code.slug, 1)
    expect((await press(code.slug, 2)).status).toBe(409)
    await chooseOutcome(first.headers.get('location') ?? '', 'failed')
    expect((await press(code.slug, 2)).status).toBe(303)
  })

  it('frees the slot when the customer cancels', async () => {
    for (const bindings of [undefined, stripeEnv()]) {
      const { code } = await limitedCode(1)
      expect((await press(code.slug, 1, bindings)).status).toBe(303)
      expect((await press(code.slug, 2, bindings)).status).toBe(409)
      const [payment] = await paymentsOf(code.id)
      const cancel = await call(`/${code.slug}/cancel/${payment?.id}`, { env: bindings })
      expect(cancel.status).toBe(303)
      expect(cancel.headers.get('location')).toBe(`/${code.slug}`)
      // Stripe too: freed once it confirms the session is closed, before its webhook.
      expect((await press(code.slug, 2, bindings)).status).toBe(303)
    }
  })

  it("frees the slot when Stripe's session expires (webhook), and not before", async () => {
    const { code } = await limitedCode(1)
    expect((await press(code.slug, 1, stripeEnv())).status).toBe(303)
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    const [payment] = await paymentsOf(code.id)
    const session = await fakeStripe(`sessions/${payment?.session_id}/get`, {})
    const expired = await signedWebhook(
      sessionEvent('checkout.session.expired', { ...session, status: 'expired' }),
    )
    expect(expired.status).toBe(200)
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(303)
  })

  it('lets the customer who holds the slot press pay again (Back button): their own checkout closes, others still wait', async () => {
    for (const bindings of [undefined, stripeEnv()]) {
      const { code } = await limitedCode(1)
      const first = await press(code.slug, 1, bindings)
      expect(first.status).toBe(303)
      const cookie = cookieFrom(first)
      expect(cookie).toMatch(/^__Host-qrc_pay=pay_/)
      expect(first.headers.get('set-cookie')).toMatch(/HttpOnly/i)
      const [old] = await paymentsOf(code.id)
      expect((await press(code.slug, 2, bindings)).status).toBe(409)
      const again = await press(code.slug, 1, bindings, cookie)
      expect(again.status).toBe(303)
      if (bindings) {
        expect((await fakeStripe(`sessions/${old?.session_id}/get`)).status).toBe('expired')
      } else {
        expect((await paymentsOf(code.id))[0]?.status).toBe('expired')
      }
      // The new checkout holds the slot now.
      expect((await press(code.slug, 2, bindings)).status).toBe(409)
    }
  })

  it('gives the new session its full time even when closing the earlier one was slow', async () => {
    const { code } = await limitedCode(1)
    const first = await press(code.slug, 1, stripeEnv())
    const [old] = await paymentsOf(code.id)
    vi.useFakeTimers({ toFake: ['Date'] })
    const realFetch = globalThis.fetch
    // Stripe takes two minutes to expire the earlier session (the clock moves on meanwhile).
    const slow = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const response = await realFetch(input, init)
      const url = input instanceof Request ? input.url : String(input)
      if (url.endsWith('/expire')) vi.setSystemTime(Date.now() + 120_000)
      return response
    })
    try {
      const again = await press(code.slug, 1, stripeEnv(), cookieFrom(first))
      expect(again.status).toBe(303)
      const [created] = (await paymentsOf(code.id)).filter((p) => p.id !== old?.id)
      expect(created?.session_expires_at).toBeGreaterThanOrEqual(Date.now() + 30 * 60_000)
    } finally {
      slow.mockRestore()
      vi.useRealTimers()
    }
  })

  it('keeps the slot when the customer presses again after paying (the session is complete)', async () => {
    const { code } = await limitedCode(1)
    const first = await press(code.slug, 1, stripeEnv())
    const [payment] = await paymentsOf(code.id)
    // Paid at Stripe; the webhook has not arrived yet.
    await fakeStripe(`sessions/${payment?.session_id}/complete`, { payment_status: 'paid' })
    expect((await press(code.slug, 1, stripeEnv(), cookieFrom(first))).status).toBe(409)
    expect((await fakeStripe(`sessions/${payment?.session_id}/get`)).status).toBe('complete')
    expect(await paymentsOf(code.id)).toHaveLength(1)
  })

  it('keeps the slot while a delayed payment is processing, and counts it once paid', async () => {
    const { code } = await limitedCode(1)
    await press(code.slug, 1, stripeEnv())
    const [payment] = await paymentsOf(code.id)
    const session = await fakeStripe(`sessions/${payment?.session_id}/get`, {})
    const completed = await fakeStripe(`sessions/${payment?.session_id}/complete`, {
      payment_status: 'unpaid',
    })
    await signedWebhook(sessionEvent('checkout.session.completed', { ...session, ...completed }))
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    await signedWebhook(
      sessionEvent('checkout.session.async_payment_succeeded', {
        ...session,
        ...completed,
        payment_status: 'paid',
      }),
    )
    expect((await press(code.slug, 3, stripeEnv())).status).toBe(410)
    expect((await hubFor(env, code.id).counters()).paid).toBe(1)
  })

  it('releases the slot when Stripe refuses to create the session', async () => {
    const { code } = await limitedCode(1)
    await fakeStripe('fail-next', { status: 400, type: 'invalid_request_error' })
    expect((await press(code.slug, 1, stripeEnv())).status).toBe(502)
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(303)
  })

  it('counts the funnel exactly: pressed and paid, once each, even when the webhook repeats', async () => {
    const { code } = await euroCode()
    await press(code.slug, 1, stripeEnv())
    const [payment] = await paymentsOf(code.id)
    const session = await fakeStripe(`sessions/${payment?.session_id}/get`, {})
    const completed = await fakeStripe(`sessions/${payment?.session_id}/complete`, {
      payment_status: 'paid',
    })
    const event = sessionEvent('checkout.session.completed', { ...session, ...completed })
    await signedWebhook(event)
    await signedWebhook(event)
    const counters = await hubFor(env, code.id).counters()
    expect(counters.pay_pressed).toBe(1)
    expect(counters.paid).toBe(1)
  })
})

describe('review fixes around holds', () => {
  it('never lets a stale "processing" report take back a slot released by a failure', async () => {
    const { code } = await limitedCode(1)
    const hub = hubFor(env, code.id)
    expect(
      await hub.reservePayment({ paymentId: 'pay_a', limit: 1, holdUntil: Date.now() + 60_000 }),
    ).toEqual({ ok: true })
    await hub.settlePayment('pay_a', 'released')
    // A redelivered event, read before the failure committed, asks to extend A's hold.
    await hub.reservePayment({
      paymentId: 'pay_a',
      limit: null,
      holdUntil: Number.MAX_SAFE_INTEGER,
    })
    expect(
      await hub.reservePayment({ paymentId: 'pay_b', limit: 1, holdUntil: Date.now() + 60_000 }),
    ).toEqual({ ok: true })
  })

  it('leaves no hold behind when the hub stores one but its answer is lost', async () => {
    const { code } = await limitedCode(1)
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const lost = await press(code.slug, 1, { CODE_HUB: lostReplyHub() } as never)
      expect(lost.status).toBe(503)
      expect(await lost.text()).toContain('Nothing was charged')
      expect(logLine(errors, 'hub unavailable for a reservation')).toMatchObject({
        codeId: code.id,
        error: { stack: expect.any(String) },
      })
    } finally {
      errors.mockRestore()
    }
    expect((await paymentsOf(code.id)).map((p) => [p.status, p.session_id])).toEqual([
      ['failed', null],
    ])
    // Released at once: the next customer can pay.
    expect((await press(code.slug, 2)).status).toBe(303)
  })

  it('answers 503 and holds nothing when D1 cannot record the payment', async () => {
    const { code } = await limitedCode(1)
    const d1 = replaceMethod(env.DB, 'prepare', (prepare) => (query) => {
      if (/^insert into "payments"/.test(query)) throw new Error('D1_ERROR: database unavailable')
      return prepare(query)
    })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const failed = await press(code.slug, 1, { DB: d1 } as never)
      expect(failed.status).toBe(503)
      expect(await failed.text()).toContain('Nothing was charged')
      expect(logLine(errors, 'payment not recorded')).toMatchObject({
        codeId: code.id,
        error: { message: 'D1_ERROR: database unavailable' },
      })
    } finally {
      errors.mockRestore()
    }
    expect(await paymentsOf(code.id)).toEqual([])
    expect((await press(code.slug, 2)).status).toBe(303)
  })

  it('expires a test-mode session that is paid after its expiry, freeing the slot', async () => {
    const { code } = await limitedCode(1)
    const first = await press(code.slug, 1)
    const [payment] = await paymentsOf(code.id)
    await env.DB.prepare('update payments set session_expires_at = ? where id = ?')
      .bind(Date.now() - 1, payment?.id)
      .run()
    await chooseOutcome(first.headers.get('location') ?? '', 'paid')
    expect((await paymentsOf(code.id))[0]?.status).toBe('expired')
    expect((await press(code.slug, 2)).status).toBe(303)
  })
})

describe('request bodies are bounded', () => {
  it('refuses an oversized pay form, sign-in form and webhook with 413, creating nothing', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount_min: 100,
      amount_max: 900,
      description: 'x',
    })
    const big = `amount=${'9'.repeat(20_000)}`
    expect((await postForm(`/${code.slug}/pay`, big)).status).toBe(413)
    expect((await postForm('/admin/login', big)).status).toBe(413)
    const hook = await call('/webhooks/stripe', {
      method: 'POST',
      body: 'x'.repeat(1_100_000),
      headers: { 'stripe-signature': 't=1,v1=0' },
    })
    expect(hook.status).toBe(413)
    expect(await paymentsOf(code.id)).toHaveLength(0)
  })
})
