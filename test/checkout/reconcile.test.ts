import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import worker from '../../src/index'
import { HOLDS_CRON, RETENTION_CRON } from '../../src/lib/crons'
import { HOLD_GRACE_MS } from '../../src/payments/effects'
import { MAX_PER_RUN, RECONCILE_AFTER_MS, reconcileHolds } from '../../src/payments/reconcile'
import { replaceMethod } from '../helpers'
import { logLines } from '../logs'
import {
  euroCode,
  fakeStripe,
  limitedCode,
  lostReplyHub,
  paymentsOf,
  press,
  sessionEvent,
  signedWebhook,
  stripeEnv,
  stripeRequests,
} from './support'

const stripeBindings = () => ({ ...env, ...stripeEnv() }) as Env

/** A single-use code whose first customer pressed pay (a Stripe session is open and held). */
async function heldCode() {
  const { code } = await limitedCode(1)
  expect((await press(code.slug, 1, stripeEnv())).status).toBe(303)
  expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
  const [payment] = await paymentsOf(code.id)
  if (!payment) throw new Error('no payment')
  return { code, payment, due: payment.session_expires_at + RECONCILE_AFTER_MS }
}

/**
 * A payment that never got a session (its Stripe call and its cleanup both failed), holding its
 * code's slot.
 */
async function strayPayment(
  codeId: string,
  id: string,
  status: 'failed' | 'pending',
  createdAt = Date.now(),
) {
  await hubFor(env, codeId).reservePayment({
    paymentId: id,
    limit: null,
    holdUntil: Date.now() + HOLD_GRACE_MS.stripe,
  })
  await env.DB.prepare(
    `insert into payments (id, merchant_id, code_id, code_version, amount, currency, description,
       status, provider, receipt_id, created_at, updated_at)
     select ?1, merchant_id, id, version, 500, 'eur', 'x', ?2, 'stripe', ?3, ?4, ?4
     from codes where id = ?5`,
  )
    .bind(id, status, `rcpt_${id.slice(4)}`, createdAt, codeId)
    .run()
}

/** Times the SDK asked the fake Stripe for this session. */
const lookups = async (sessionId: string) =>
  (await stripeRequests()).filter(
    (r) => r.method === 'GET' && r.path === `/v1/checkout/sessions/${sessionId}`,
  ).length

describe('the hourly reconciliation of holds whose webhook never came', () => {
  // Tests of a file share D1: earlier tests' unsettled payments must not count in a later run.
  beforeEach(async () => {
    await env.DB.prepare("update payments set status = 'canceled' where status = 'pending'").run()
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  it('expires the payment of a session Stripe expired, once its webhook is overdue, freeing the slot', async () => {
    const { code, payment, due } = await heldCode()
    await fakeStripe(`sessions/${payment.session_id}/expire`, {})
    vi.spyOn(console, 'info').mockImplementation(() => {})

    expect(await reconcileHolds(stripeBindings(), due - 1)).toMatchObject({ checked: 0 })
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)

    expect(await reconcileHolds(stripeBindings(), due)).toMatchObject({ checked: 1, closed: 1 })
    expect((await paymentsOf(code.id))[0]?.status).toBe('expired')
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(303)
    // The late webhook, should it come, changes nothing more.
    const session = await fakeStripe(`sessions/${payment.session_id}/get`)
    const late = await signedWebhook(sessionEvent('checkout.session.expired', session))
    expect(late.status).toBe(200)
    expect((await paymentsOf(code.id))[0]?.status).toBe('expired')
  })

  it('fails the payment of a delayed method the bank refused, freeing the slot', async () => {
    const { code, payment, due } = await heldCode()
    await fakeStripe(`sessions/${payment.session_id}/complete`, { payment_status: 'unpaid' })
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    // Still processing at the bank: the slot stays, and it is asked about again.
    expect(await reconcileHolds(stripeBindings(), due)).toMatchObject({ kept: 1 })
    expect(logLines(error)[0]).toMatchObject({
      event: expect.stringContaining('no webhook was applied'),
      paymentId: payment.id,
      outcome: 'processing',
    })
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    // Days later, past the grace (delayed methods take up to two weeks): still asked, still held.
    const later = due + HOLD_GRACE_MS.stripe + 3_600_000
    expect(await reconcileHolds(stripeBindings(), later)).toMatchObject({ checked: 1, kept: 1 })
    vi.useFakeTimers({ toFake: ['Date'], now: later })
    try {
      expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    } finally {
      vi.useRealTimers()
    }
    await fakeStripe(`sessions/${payment.session_id}/fail-intent`, {})
    expect(await reconcileHolds(stripeBindings(), later + 3_600_000)).toMatchObject({ closed: 1 })
    expect((await paymentsOf(code.id))[0]?.status).toBe('failed')
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(303)
  })

  it('keeps for good the slot of a session Stripe says was paid, where the grace alone would lapse', async () => {
    const kept = await heldCode()
    const lapsed = await heldCode()
    for (const { payment } of [kept, lapsed]) {
      await fakeStripe(`sessions/${payment.session_id}/complete`, { payment_status: 'paid' })
    }
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    vi.spyOn(console, 'info').mockImplementation(() => {})
    // Only the first code's hold is reconciled (the second one's session is not due yet).
    const result = await reconcileHolds(stripeBindings(), kept.due)
    expect(result).toMatchObject({ kept: 1, closed: 0 })
    expect(logLines(error)[0]).toMatchObject({
      event: expect.stringContaining('no webhook was applied'),
      paymentId: kept.payment.id,
      outcome: 'paid',
    })

    // After Stripe's three days of retries, a second customer presses pay on each code.
    const afterGrace = kept.payment.session_expires_at + HOLD_GRACE_MS.stripe + 3_600_000
    vi.useFakeTimers({ toFake: ['Date'], now: afterGrace })
    expect((await press(kept.code.slug, 3, stripeEnv())).status).toBe(409)
    // Without the reconciliation the paid session's slot would have lapsed: the hub lets the
    // press through (the fake Stripe then refuses the session's expiry, 24 h past its clock: 502).
    expect((await press(lapsed.code.slug, 3, stripeEnv())).status).toBe(502)
    vi.useRealTimers()
    // Kept for good: not asked about again.
    await reconcileHolds(stripeBindings(), kept.due + 3_600_000)
    expect(await lookups(kept.payment.session_id)).toBe(1)
    expect((await paymentsOf(kept.code.id))[0]?.status).toBe('pending')
    expect((await hubFor(env, kept.code.id).counters()).paid).toBe(0)
  })

  it('leaves a session that is still open at Stripe held, and asks again on the next run', async () => {
    const { code, payment, due } = await heldCode()
    vi.spyOn(console, 'info').mockImplementation(() => {})
    expect(await reconcileHolds(stripeBindings(), due)).toMatchObject({ unchanged: 1 })
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    await fakeStripe(`sessions/${payment.session_id}/expire`, {})
    expect(await reconcileHolds(stripeBindings(), due + 3_600_000)).toMatchObject({ closed: 1 })
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(303)
  })

  it('changes nothing when Stripe cannot answer, and frees the slot on a later run', async () => {
    const { code, payment, due } = await heldCode()
    await fakeStripe(`sessions/${payment.session_id}/expire`, {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    vi.spyOn(console, 'info').mockImplementation(() => {})
    await fakeStripe('fail-next', { status: 400, type: 'invalid_request_error' })
    expect(await reconcileHolds(stripeBindings(), due)).toMatchObject({ checked: 1, unchanged: 1 })
    expect(logLines(error)[0]).toMatchObject({
      event: expect.stringContaining('not reconciled'),
      paymentId: payment.id,
    })
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    expect(await reconcileHolds(stripeBindings(), due)).toMatchObject({ closed: 1 })
  })

  it('asks about a backlog in turn, those not asked about for longest first', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const { code } = await limitedCode(MAX_PER_RUN + 10)
    for (let i = 1; i <= MAX_PER_RUN + 1; i++) {
      expect((await press(code.slug, i, stripeEnv())).status).toBe(303)
    }
    const all = await paymentsOf(code.id)
    const due = Math.max(...all.map((p) => p.session_expires_at)) + RECONCILE_AFTER_MS
    // Every session still open at Stripe: nothing changes, but each is asked about in turn.
    expect(await reconcileHolds(stripeBindings(), due)).toMatchObject({
      checked: MAX_PER_RUN,
      unchanged: MAX_PER_RUN,
    })
    const asked = await Promise.all(all.map((p) => lookups(p.session_id)))
    expect(asked.filter((n) => n === 0)).toHaveLength(1)
    await reconcileHolds(stripeBindings(), due + 3_600_000)
    const waited = all[asked.indexOf(0)]
    expect(await lookups(waited?.session_id ?? '')).toBe(1)
  })

  it('releases again the hold of a payment that failed before its session existed', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const { code } = await limitedCode(1)
    await strayPayment(code.id, 'pay_stray', 'failed')
    expect((await press(code.slug, 1, stripeEnv())).status).toBe(409)
    expect(await reconcileHolds(stripeBindings())).toMatchObject({ strays: 1 })
    expect(await reconcileHolds(stripeBindings())).toMatchObject({ strays: 0 })
    expect((await press(code.slug, 1, stripeEnv())).status).toBe(303)
  })

  it('frees the slot of a reservation whose answer was lost and whose release failed', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const { code } = await limitedCode(1)
    const lost = await press(code.slug, 1, {
      ...stripeEnv(),
      CODE_HUB: lostReplyHub({ releaseFails: true }),
    } as never)
    expect(lost.status).toBe(503)
    // The hub still holds the slot, for a payment D1 records as failed before its session.
    expect((await paymentsOf(code.id)).map((p) => [p.status, p.session_id])).toEqual([
      ['failed', null],
    ])
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    expect(await reconcileHolds(stripeBindings())).toMatchObject({ strays: 1 })
    expect((await press(code.slug, 3, stripeEnv())).status).toBe(303)
  })

  it('fails a payment left pending with no session 15 minutes after pay was pressed, freeing its slot', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const { code } = await limitedCode(1)
    const now = Date.now()
    await strayPayment(code.id, 'pay_stuck', 'pending', now - RECONCILE_AFTER_MS + 60_000)
    // Still within the time a checkout may take to open: left alone.
    expect(await reconcileHolds(stripeBindings(), now)).toMatchObject({ strays: 0 })
    expect((await press(code.slug, 1, stripeEnv())).status).toBe(409)
    expect(await reconcileHolds(stripeBindings(), now + 60_000)).toMatchObject({ strays: 1 })
    const row = await env.DB.prepare('select status, failure_reason from payments where id = ?')
      .bind('pay_stuck')
      .first<{ status: string; failure_reason: string }>()
    expect(row).toMatchObject({ status: 'failed' })
    expect((await press(code.slug, 1, stripeEnv())).status).toBe(303)
  })

  it('asks Stripe only about overdue sessions of limited codes that no webhook settled', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    // Settled by its webhook.
    const settled = await heldCode()
    const session = await fakeStripe(`sessions/${settled.payment.session_id}/get`)
    await signedWebhook(sessionEvent('checkout.session.expired', { ...session, status: 'expired' }))
    // An unlimited code: its holds never block anyone.
    const { code: unlimited } = await euroCode()
    expect((await press(unlimited.slug, 1, stripeEnv())).status).toBe(303)
    const [open] = await paymentsOf(unlimited.id)
    expect(open?.session_id).toBeTruthy()
    // Expired longer ago than the grace: its hold has lapsed already.
    const old = await heldCode()
    await env.DB.prepare('update payments set session_expires_at = ? where id = ?')
      .bind(old.payment.session_expires_at - HOLD_GRACE_MS.stripe - 3_600_000, old.payment.id)
      .run()
    // Overdue, limited, unsettled: the one to ask about.
    const due = await heldCode()

    expect(await reconcileHolds(stripeBindings(), due.due)).toMatchObject({ checked: 1 })
    expect(await lookups(due.payment.session_id)).toBe(1)
    expect(await lookups(settled.payment.session_id)).toBe(0)
    expect(await lookups(open?.session_id ?? '')).toBe(0)
    expect(await lookups(old.payment.session_id)).toBe(0)
  })

  it("stays within one invocation's limits on the free plan in its worst run", async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const { code } = await limitedCode(MAX_PER_RUN * 2)
    for (let i = 1; i <= MAX_PER_RUN; i++) await press(code.slug, i, stripeEnv())
    const all = await paymentsOf(code.id)
    for (const p of all) await fakeStripe(`sessions/${p.session_id}/expire`, {})
    // And as many payments stuck pending with no session, which it fails and releases.
    for (let i = 0; i < MAX_PER_RUN; i++) {
      await strayPayment(code.id, `pay_budget${i}`, 'pending', Date.now() - RECONCILE_AFTER_MS)
    }
    let statements = 0
    const d1 = replaceMethod(env.DB, 'prepare', (prepare) => (query) => {
      statements++
      return prepare(query)
    })
    let hubCalls = 0
    const hubs = replaceMethod(env.CODE_HUB, 'get', (get) => (id, options) => {
      hubCalls++
      return get(id, options)
    })
    const before = (await stripeRequests()).length
    const due = Math.max(...all.map((p) => p.session_expires_at)) + RECONCILE_AFTER_MS
    const result = await reconcileHolds({ ...stripeBindings(), DB: d1, CODE_HUB: hubs }, due)
    expect(result).toMatchObject({ closed: MAX_PER_RUN, strays: MAX_PER_RUN })
    const stripeCalls = (await stripeRequests()).length - before
    // Measured: 43 D1 statements, 8 Stripe requests (24 with the SDK's 2 retries each), 16 hub calls.
    expect(statements).toBeLessThanOrEqual(45)
    expect(stripeCalls * 3 + hubCalls).toBeLessThanOrEqual(50)
  })

  it('does nothing in test mode, which has no webhooks to miss', async () => {
    expect(await reconcileHolds({ ...env, STRIPE_SECRET_KEY: '' } as Env)).toBeUndefined()
  })

  it("runs from its own hourly cron, not from retention's", async () => {
    const { code, payment, due } = await heldCode()
    await fakeStripe(`sessions/${payment.session_id}/expire`, {})
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const cron = async (name: string) => {
      const ctx = createExecutionContext()
      await worker.scheduled(
        createScheduledController({ scheduledTime: due, cron: name }),
        stripeBindings(),
        ctx,
      )
      await waitOnExecutionContext(ctx)
    }
    await cron(RETENTION_CRON)
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(409)
    await cron(HOLDS_CRON)
    expect((await press(code.slug, 2, stripeEnv())).status).toBe(303)
  })
})
