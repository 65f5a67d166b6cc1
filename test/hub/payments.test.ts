import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import type { CodeHub } from '../../src/hub/code-hub'
import { DEDUPE_WINDOW_MS } from '../../src/hub/flushing'
import { HUB_QUERIES } from '../../src/hub/storage'
import { call, flushHub, merchantWithCode } from '../helpers'
import { d1Count, hubRows, IPHONE, SLACKBOT } from './fixtures'

async function newHub() {
  const { key, code } = await merchantWithCode({
    action: 'checkout',
    currency: 'eur',
    amount: 450,
    description: 'Flat white',
  })
  return { code, key, hub: hubFor(env, code.id) }
}

const ids = (n: number, prefix = 'pay') => Array.from({ length: n }, (_, i) => `${prefix}_${i}`)
const soon = (ms = 60_000) => Date.now() + ms

describe('payment holds in the hub', () => {
  afterEach(() => vi.useRealTimers())

  it('lets exactly one of 50 concurrent reservations through when the limit is 1', async () => {
    const { hub } = await newHub()
    const results = await Promise.all(
      ids(50).map((paymentId) => hub.reservePayment({ paymentId, limit: 1, holdUntil: soon() })),
    )
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(results.filter((r) => !r.ok && r.reason === 'busy')).toHaveLength(49)
    expect((await hub.counters()).pay_pressed).toBe(1)
  })

  it('lets exactly N through under concurrency when the limit is N, then says sold out once paid', async () => {
    const { hub } = await newHub()
    const results = await Promise.all(
      ids(30).map((paymentId) => hub.reservePayment({ paymentId, limit: 3, holdUntil: soon() })),
    )
    const winners = ids(30).filter((_, i) => results[i]?.ok)
    expect(winners).toHaveLength(3)
    for (const id of winners) await hub.settlePayment(id, 'paid')
    expect(await hub.reservePayment({ paymentId: 'late', limit: 3, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'sold_out',
    })
    expect(await hub.counters()).toMatchObject({ pay_pressed: 3, paid: 3 })
  })

  it('is idempotent per payment id', async () => {
    const { hub, code } = await newHub()
    const first = { paymentId: 'pay_a', limit: 1, holdUntil: soon() }
    expect(await hub.reservePayment(first)).toEqual({ ok: true })
    expect(await hub.reservePayment(first)).toEqual({ ok: true })
    expect(await hub.reservePayment({ paymentId: 'pay_b', limit: 1, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'busy',
    })
    await hub.settlePayment('pay_a', 'paid')
    await hub.settlePayment('pay_a', 'paid')
    await hub.settlePayment('pay_a', 'released')
    // Reserving a paid id again is fine and changes nothing.
    expect(await hub.reservePayment(first)).toEqual({ ok: true })
    expect(await hub.counters()).toMatchObject({ pay_pressed: 1, paid: 1 })
    expect(await hubRows(code.id, "select state from payments where id = 'pay_a'")).toEqual([
      { state: 'paid' },
    ])
  })

  it("'reopened' frees a paid slot once, keeps the funnel, and a later 'paid' takes it again", async () => {
    const { hub } = await newHub()
    expect(await hub.reservePayment({ paymentId: 'pay_a', limit: 1, holdUntil: soon() })).toEqual({
      ok: true,
    })
    await hub.settlePayment('pay_a', 'paid')
    // Releasing never undoes a paid slot; reopening does, idempotently.
    await hub.settlePayment('pay_a', 'released')
    const late = { paymentId: 'pay_b', limit: 1, holdUntil: soon() }
    expect(await hub.reservePayment(late)).toEqual({ ok: false, reason: 'sold_out' })
    await hub.settlePayment('pay_a', 'reopened')
    await hub.settlePayment('pay_a', 'reopened')
    expect(await hub.reservePayment(late)).toEqual({ ok: true })
    expect(await hub.reservePayment({ paymentId: 'pay_c', limit: 1, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'busy',
    })
    expect(await hub.counters()).toMatchObject({ pay_pressed: 2, paid: 1 })
    // Reopening a payment that is not paid does nothing.
    await hub.settlePayment('pay_b', 'reopened')
    expect(await hub.reservePayment({ paymentId: 'pay_c', limit: 1, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'busy',
    })
  })

  it('frees the slot when a hold expires or is released', async () => {
    const { hub } = await newHub()
    // The hub runs in this isolate: a fake clock moves its time too (no real waiting).
    vi.useFakeTimers({ toFake: ['Date'] })
    expect(
      await hub.reservePayment({ paymentId: 'short', limit: 1, holdUntil: soon(150) }),
    ).toEqual({ ok: true })
    expect(await hub.reservePayment({ paymentId: 'next', limit: 1, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'busy',
    })
    vi.setSystemTime(Date.now() + 200)
    expect(await hub.reservePayment({ paymentId: 'next', limit: 1, holdUntil: soon() })).toEqual({
      ok: true,
    })
    await hub.settlePayment('next', 'released')
    expect(await hub.reservePayment({ paymentId: 'third', limit: 1, holdUntil: soon() })).toEqual({
      ok: true,
    })
    // Each id was pressed once, whatever happened to its hold.
    expect((await hub.counters()).pay_pressed).toBe(3)
  })

  it('counts a payment settled after its hold expired, and then refuses new ones', async () => {
    const { hub } = await newHub()
    vi.useFakeTimers({ toFake: ['Date'] })
    await hub.reservePayment({ paymentId: 'slow', limit: 1, holdUntil: soon(100) })
    vi.setSystemTime(Date.now() + 150)
    expect(await hub.reservePayment({ paymentId: 'fast', limit: 1, holdUntil: soon() })).toEqual({
      ok: true,
    })
    await hub.settlePayment('slow', 'paid')
    expect(await hub.reservePayment({ paymentId: 'other', limit: 1, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'sold_out',
    })
    expect(await hub.counters()).toMatchObject({ pay_pressed: 2, paid: 1 })
  })

  it('always accepts with no limit, and still records the holds', async () => {
    const { hub, code } = await newHub()
    const results = await Promise.all(
      ids(20).map((paymentId) => hub.reservePayment({ paymentId, limit: null, holdUntil: soon() })),
    )
    expect(results.every((r) => r.ok)).toBe(true)
    expect(
      await hubRows(code.id, "select count(*) as n from payments where state = 'held'"),
    ).toEqual([{ n: 20 }])
  })

  it('keeps holds across an eviction', async () => {
    const { hub } = await newHub()
    await hub.reservePayment({ paymentId: 'kept', limit: 1, holdUntil: soon() })
    await evictDurableObject(hub)
    expect(await hub.reservePayment({ paymentId: 'new', limit: 1, holdUntil: soon() })).toEqual({
      ok: false,
      reason: 'busy',
    })
  })

  it('rejects malformed calls', async () => {
    const { hub } = await newHub()
    // Through runInDurableObject: see recording.test.ts on rejecting stub calls in tests.
    const attempts: ((h: CodeHub) => Promise<unknown>)[] = [
      (h) => h.reservePayment({ paymentId: '', limit: 1, holdUntil: soon() }),
      (h) => h.reservePayment({ paymentId: 'x', limit: -1, holdUntil: soon() }),
      (h) => h.reservePayment({ paymentId: 'x', limit: 1.5, holdUntil: soon() }),
      (h) => h.reservePayment({ paymentId: 'x', limit: 1, holdUntil: Number.NaN }),
      (h) => h.reservePayment({ paymentId: 'x', limit: 1, holdUntil: soon(), replaces: 'x' }),
      (h) => h.settlePayment('x', 'refunded' as 'paid'),
    ]
    for (const attempt of attempts) {
      await expect(runInDurableObject(hub, (instance) => attempt(instance))).rejects.toThrow(
        TypeError,
      )
    }
    expect((await hub.counters()).pay_pressed).toBe(0)
  })
})

describe('taking over a slot (the same customer pressing pay again)', () => {
  it('releases the replaced hold in the same reservation, and never a paid one', async () => {
    const { hub } = await newHub()
    const hold = (paymentId: string, replaces?: string) =>
      hub.reservePayment({ paymentId, limit: 1, holdUntil: soon(), replaces })
    expect(await hold('pay_a')).toEqual({ ok: true })
    expect(await hold('pay_b')).toEqual({ ok: false, reason: 'busy' })
    expect(await hold('pay_b', 'pay_a')).toEqual({ ok: true })
    expect(await hold('pay_c')).toEqual({ ok: false, reason: 'busy' })
    await hub.settlePayment('pay_b', 'paid')
    // A paid payment is not a hold: naming it changes nothing.
    expect(await hold('pay_d', 'pay_b')).toEqual({ ok: false, reason: 'sold_out' })
  })
})

describe('the checkout funnel', () => {
  it('is exact from scans to paid, in the hub, in D1 and in the stats, before and after the flush', async () => {
    const { hub, code, key } = await newHub()
    const humans = 23
    await Promise.all([
      ...Array.from({ length: humans }, () =>
        call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } }),
      ),
      ...Array.from({ length: 6 }, () =>
        call(`/${code.slug}`, { headers: { 'user-agent': SLACKBOT } }),
      ),
      ...Array.from({ length: 4 }, () =>
        call(`/${code.slug}`, { method: 'HEAD', headers: { 'user-agent': IPHONE } }),
      ),
    ])
    // A paused code's page is not a checkout page.
    await call(`/api/v1/codes/${code.id}`, { key, method: 'PATCH', json: { status: 'paused' } })
    expect((await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })).status).toBe(503)

    const pressed = ids(9)
    for (const paymentId of pressed) {
      await hub.reservePayment({ paymentId, limit: null, holdUntil: soon() })
    }
    await hub.reservePayment({ paymentId: 'pay_0', limit: null, holdUntil: soon() })
    for (const paymentId of pressed.slice(0, 4)) await hub.settlePayment(paymentId, 'paid')
    await hub.settlePayment('pay_0', 'paid')
    await hub.settlePayment('pay_8', 'released')

    const expected = { checkout_views: humans, pay_pressed: 9, paid: 4 }
    expect(await hub.counters()).toMatchObject({ ...expected, human: humans + 1, bot: 10 })
    const funnel = async () => {
      const response = await call(`/api/v1/codes/${code.id}/stats?interval=hour`, { key })
      expect(response.status).toBe(200)
      return ((await response.json()) as { funnel: unknown }).funnel
    }
    // No payment here is in D1, so none is refunded.
    const want = { human_scans: humans + 1, ...expected, refunded: 0 }
    expect(await funnel()).toEqual(want)
    await flushHub(code.id)
    expect(await funnel()).toEqual(want)
    const sums = await env.DB.prepare(
      'select sum(checkout_views) as checkout_views, sum(pay_pressed) as pay_pressed, sum(paid) as paid from scan_rollup_hours where code_id = ?',
    )
      .bind(code.id)
      .first()
    expect(sums).toEqual(expected)
    expect(
      await d1Count(
        'select count(*) as n from scans where code_id = ? and checkout_view = 1',
        code.id,
      ),
    ).toBe(humans)
  })
})

describe("the hub's storage stays bounded and indexed", () => {
  it('forgets flushed funnel events after the dedupe window, and still counts each payment once', async () => {
    const { hub, code } = await newHub()
    await hub.reservePayment({ paymentId: 'pay_f', limit: 1, holdUntil: soon() })
    await hub.settlePayment('pay_f', 'paid')
    await flushHub(code.id)
    expect(await hubRows(code.id, 'select kind from funnel order by kind')).toEqual([
      { kind: 'paid' },
      { kind: 'pay_pressed' },
    ])
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + DEDUPE_WINDOW_MS + 60_000 })
    try {
      // The alarm the flush left for the dedupe window prunes.
      await runDurableObjectAlarm(hub)
      expect(await hubRows(code.id, 'select kind from funnel')).toEqual([])
      // A redelivered webhook or a second press of the same payment changes nothing.
      await hub.settlePayment('pay_f', 'paid')
      await hub.reservePayment({ paymentId: 'pay_f', limit: 1, holdUntil: soon() })
    } finally {
      vi.useRealTimers()
    }
    expect(await hub.counters()).toMatchObject({ pay_pressed: 1, paid: 1, unflushed: 0 })
  })

  it.each(Object.entries(HUB_QUERIES))(
    'runs %s through an index, not a scan of every batch kept for dedupe',
    async (_name, query) => {
      const { code } = await newHub()
      const binds = query.includes('?') ? [1] : []
      const plan = await hubRows(code.id, `explain query plan ${query}`, ...binds)
      const steps = plan.map((row) => String(row.detail))
      expect(steps.some((step) => /USING (COVERING )?INDEX/.test(step))).toBe(true)
      expect(steps.filter((step) => /^SCAN (batches|funnel)\b/.test(step))).toEqual([])
    },
  )
})
