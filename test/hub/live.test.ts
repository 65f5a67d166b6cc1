import { evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import { LiveFeed, MAX_EVENTS_PER_MESSAGE, MIN_INTERVAL_MS } from '../../src/hub/feed'
import { signLiveToken } from '../../src/hub/live-token'
import type { HubCounters, LiveMessage, LivePayment, LiveScan } from '../../src/hub/types'
import {
  COUNTERS_EVERY_MS,
  CREDENTIALS_CHECK_MS,
  CREDENTIALS_RETRY_MS,
  CREDENTIALS_TIMEOUT_MS,
  FEED_EXPIRED,
  FEED_MAX_MS,
  FEED_REVOKED,
} from '../../src/hub/watchers'
import { call, createCode, newMerchant, problemOf, replaceMethod } from '../helpers'
import { logLines } from '../logs'
import { hubScans, IPHONE, scanFor } from './fixtures'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function newCode(kind: 'redirect' | 'checkout' = 'redirect') {
  const merchant = await newMerchant()
  const body =
    kind === 'redirect'
      ? { action: 'redirect', destination_url: 'https://a.example' }
      : { action: 'checkout', currency: 'eur', amount: 450, description: 'Coffee' }
  const code = await createCode(merchant.key, body)
  return { ...merchant, code: { ...code, merchantId: merchant.merchantId } }
}

interface Received {
  at: number
  message: LiveMessage
}

/** Opens the live feed like a client would, recording every message with its arrival time. */
async function openLive(codeId: string, auth: { key?: string; token?: string }) {
  const query = auth.token ? `?token=${encodeURIComponent(auth.token)}` : ''
  const response = await call(`/api/v1/codes/${codeId}/live${query}`, {
    key: auth.key,
    headers: { upgrade: 'websocket' },
  })
  expect(response.status).toBe(101)
  const ws = response.webSocket
  if (!ws) throw new Error('no websocket')
  const received: Received[] = []
  const raw: string[] = []
  const closed: { code: number; reason: string }[] = []
  ws.accept()
  ws.addEventListener('close', (event) => {
    closed.push({ code: event.code, reason: event.reason })
  })
  ws.addEventListener('message', (event) => {
    raw.push(String(event.data))
    received.push({ at: Date.now(), message: JSON.parse(String(event.data)) as LiveMessage })
  })
  /** Waits for the first message (from `from` on) that matches. */
  async function next(match: (m: LiveMessage) => boolean, from = 0, timeoutMs = 3_000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = received.slice(from).find((r) => match(r.message))
      if (found) return found.message
      if (Date.now() > deadline) throw new Error(`no matching message in ${JSON.stringify(raw)}`)
      await sleep(10)
    }
  }
  /** Waits (up to a second) until the socket was closed. */
  async function closing() {
    for (let i = 0; i < 100 && !closed.length; i++) await sleep(10)
  }
  return { ws, received, raw, next, closed, closing }
}

const updates = (received: Received[]) =>
  received.filter((r) => r.message.type === 'update') as (Received & {
    message: Extract<LiveMessage, { type: 'update' }>
  })[]

type Live = Awaited<ReturnType<typeof openLive>>

/** After `action`, the feed is closed with `code`, and was sent nothing more. */
async function closedUnanswered(live: Live, code: number, action: () => unknown) {
  const seen = live.received.length
  await action()
  await live.closing()
  expect(live.closed.map((c) => c.code)).toEqual([code])
  expect(live.received.slice(seen)).toEqual([])
}

/** The feed asks for the counters at `at`: it is closed with `code`, and not answered. */
async function closedOnCountersRequest(live: Live, at: number, code: number) {
  vi.useFakeTimers({ toFake: ['Date'], now: at })
  try {
    await closedUnanswered(live, code, () => live.ws.send('counters'))
  } finally {
    vi.useRealTimers()
  }
}

describe('live feed: what a watcher receives', () => {
  it('greets with the counters, then sends each scan without the visitor hash', async () => {
    const { key, code } = await newCode()
    await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
    const live = await openLive(code.id, { key })
    const hello = await live.next((m) => m.type === 'hello')
    expect(hello).toMatchObject({
      type: 'hello',
      code_id: code.id,
      counters: { scans: 1, human: 1 },
    })

    await call(`/${code.slug}`, {
      headers: { 'user-agent': IPHONE, 'cf-connecting-ip': '203.0.113.5' },
      cf: { country: 'JP', city: 'Osaka' },
    })
    const update = await live.next((m) => m.type === 'update')
    if (update.type !== 'update') throw new Error('unreachable')
    expect(update.counters).toMatchObject({ scans: 2, human: 2, unique_visitors_today: 1 })
    const [event, ...others] = update.events as LiveScan[]
    expect(others).toHaveLength(0)
    expect(event).toMatchObject({
      type: 'scan',
      country: 'JP',
      city: 'Osaka',
      device: 'mobile',
      is_bot: false,
    })
    expect(Date.parse(event?.at ?? '')).toBeGreaterThan(Date.now() - 10_000)
    const hashes = (await hubScans(code.id)).filter((s) => s.visitor_hash !== null)
    expect(hashes).toHaveLength(1)
    for (const text of live.raw) {
      expect(text).not.toContain(hashes[0]?.visitor_hash)
      expect(text).not.toMatch(/visitor_hash|visitorHash/)
    }
    live.ws.close()
  })

  it('sends payment events', async () => {
    const { key, code } = await newCode('checkout')
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    const hub = hubFor(env, code.id)
    await hub.reservePayment({ paymentId: 'pay_live', limit: null, holdUntil: Date.now() + 60_000 })
    await sleep(MIN_INTERVAL_MS + 20)
    await hub.settlePayment('pay_live', 'paid')
    const paid = await live.next(
      (m) =>
        m.type === 'update' && m.events.some((e) => e.type === 'payment' && e.status === 'paid'),
    )
    const payments = updates(live.received).flatMap((u) =>
      u.message.events.filter((e): e is LivePayment => e.type === 'payment'),
    )
    expect(payments.map((p) => [p.payment_id, p.status])).toEqual([
      ['pay_live', 'pending'],
      ['pay_live', 'paid'],
    ])
    expect(paid.type === 'update' && paid.counters).toMatchObject({ pay_pressed: 1, paid: 1 })
    live.ws.close()
  })

  it("shows a hold taken over by the same customer's new checkout as released", async () => {
    const { key, code } = await newCode('checkout')
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    const hub = hubFor(env, code.id)
    const hold = { limit: 1, holdUntil: Date.now() + 60_000 }
    await hub.reservePayment({ paymentId: 'pay_old', ...hold })
    await sleep(MIN_INTERVAL_MS + 20)
    await hub.reservePayment({ paymentId: 'pay_new', replaces: 'pay_old', ...hold })
    await live.next(
      (m) =>
        m.type === 'update' &&
        m.events.some((e) => e.type === 'payment' && e.payment_id === 'pay_new'),
    )
    const payments = updates(live.received).flatMap((u) =>
      u.message.events.filter((e): e is LivePayment => e.type === 'payment'),
    )
    expect(payments.map((p) => [p.payment_id, p.status])).toEqual([
      ['pay_old', 'pending'],
      ['pay_old', 'released'],
      ['pay_new', 'pending'],
    ])
    live.ws.close()
  })

  it("answers a watcher's counters requests once a second at most", async () => {
    const { key, code } = await newCode()
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    for (let i = 0; i < 5; i++) live.ws.send('counters')
    await live.next((m) => m.type === 'counters')
    await sleep(200)
    expect(live.received.filter((r) => r.message.type === 'counters')).toHaveLength(1)
    live.ws.close()
  })

  it('closes a feed after FEED_MAX_MS before sending it anything more, so credentials are checked again', async () => {
    const { key, code } = await newCode()
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    // The clock of the Worker and the hubs alike (they run in this isolate).
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    try {
      // Just inside its lifetime, a feed still gets the scans.
      vi.setSystemTime(start + FEED_MAX_MS - 60_000)
      await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
      await live.next((m) => m.type === 'update')
      expect(live.closed).toEqual([])

      vi.setSystemTime(start + FEED_MAX_MS)
      const seen = live.received.length
      await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
      await live.closing()
      expect(live.closed).toEqual([{ code: FEED_EXPIRED, reason: 'feed expired: reconnect' }])
      expect(live.received.slice(seen)).toEqual([])
      // The hub no longer holds it, and a new feed opens (the Worker checks the key again).
      expect(
        await runInDurableObject(hubFor(env, code.id), (_, state) => state.getWebSockets().length),
      ).toBe(0)
      const again = await openLive(code.id, { key })
      await again.next((m) => m.type === 'hello')
      again.ws.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('closes an expired feed when it asks for the counters, without answering', async () => {
    const { key, code } = await newCode()
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    await closedOnCountersRequest(live, Date.now() + FEED_MAX_MS, FEED_EXPIRED)
  })

  it('closes, at the first look after a wake, a feed that carries no opening time', async () => {
    const { key, code } = await newCode()
    const hub = hubFor(env, code.id)
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    // As a socket accepted before feeds carried their opening time, then hibernated.
    await runInDurableObject(hub, (_, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ countersAt: 1 })
    })
    await evictDurableObject(hub, { webSockets: 'hibernate' })
    const seen = live.received.length
    await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
    await live.closing()
    expect(live.closed.map((c) => c.code)).toEqual([FEED_EXPIRED])
    expect(live.received.slice(seen)).toEqual([])
  })

  it('keeps working after the hub hibernates and wakes up', async () => {
    const { key, code } = await newCode()
    const hub = hubFor(env, code.id)
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    await runInDurableObject(hub, (instance) => {
      instance.flushHooks = { afterCommit: () => {} }
    })
    await evictDurableObject(hub, { webSockets: 'hibernate' })
    // A new instance: in-memory state is gone, the socket is not.
    expect(
      await runInDurableObject(hub, (instance, state) => ({
        hooks: Object.keys(instance.flushHooks),
        sockets: state.getWebSockets().length,
      })),
    ).toEqual({ hooks: [], sockets: 1 })

    const seen = live.received.length
    await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
    const update = await live.next((m) => m.type === 'update', seen)
    expect(update.type === 'update' && update.events).toHaveLength(1)
    live.ws.send('counters')
    const counters = await live.next((m) => m.type === 'counters', seen)
    expect(counters).toMatchObject({ counters: { scans: 1 } })
    live.ws.close()
  })

  it('coalesces a flood to at most one message per 100 ms, with exact counters', async () => {
    const { key, code } = await newCode()
    const hub = hubFor(env, code.id)
    const live = await openLive(code.id, { key })
    await live.next((m) => m.type === 'hello')
    const started = Date.now()
    const calls = 40
    const perCall = 5
    for (let i = 0; i < calls; i++) {
      await hub.recordScans(Array.from({ length: perCall }, () => scanFor(code)))
      await sleep(10)
    }
    // One big burst: more events than a message lists.
    await hub.recordScans(Array.from({ length: 250 }, () => scanFor(code, { isBot: true })))
    const total = calls * perCall + 250
    await live.next((m) => m.type === 'update' && m.counters.scans === total)
    const elapsed = Date.now() - started
    const sent = updates(live.received)
    expect(sent.length).toBeLessThanOrEqual(Math.ceil(elapsed / MIN_INTERVAL_MS) + 1)
    expect(sent.length).toBeLessThan(calls)
    // Counted, not timed: arrival gaps on this side would measure delivery jitter too.
    for (const u of sent)
      expect(u.message.events.length).toBeLessThanOrEqual(MAX_EVENTS_PER_MESSAGE)
    const listed = sent.reduce((n, u) => n + u.message.events.length, 0)
    const omitted = sent.reduce((n, u) => n + u.message.omitted, 0)
    expect(listed + omitted).toBe(total)
    expect(omitted).toBeGreaterThan(0)
    expect(sent.at(-1)?.message.counters).toMatchObject({ scans: total, bot: 250 })
    live.ws.close()
  })
})

/** A second API key of the merchant behind `key`. */
async function secondKey(key: string) {
  const created = await call('/api/v1/api-keys', { key, json: { name: 'second' } })
  expect(created.status).toBe(201)
  return (await created.json()) as { id: string; key: string }
}

const scan = (slug: string) => call(`/${slug}`, { headers: { 'user-agent': IPHONE } })

/**
 * The hub's own D1 binding, wrapped (the test's env stays as it is): counts the statements it
 * prepares, and can fail them (`failing`) or hold their answers until `release()`.
 */
async function hubD1(codeId: string) {
  let gate: Promise<void> = Promise.resolve()
  let open = () => {}
  const control = {
    asked: 0,
    failing: false,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve
      })
    },
    release: () => open(),
    restore() {},
  }
  const held = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, name) {
        const value = Reflect.get(target, name, target)
        if (typeof value !== 'function') return value
        if (name === 'bind') return (...args: unknown[]) => held(value.apply(target, args))
        if (name === 'all' || name === 'raw' || name === 'first' || name === 'run') {
          return async (...args: unknown[]) => {
            await gate
            return value.apply(target, args)
          }
        }
        return value.bind(target)
      },
    })
  const restore = await runInDurableObject(hubFor(env, codeId), (instance) => {
    const hub = instance as unknown as { env: Env }
    const real = hub.env
    const DB = replaceMethod(real.DB, 'prepare', (prepare) => (query) => {
      control.asked++
      if (control.failing) throw new Error('D1 is down')
      return held(prepare(query))
    })
    hub.env = { ...real, DB }
    return () => {
      hub.env = real
    }
  })
  /** Answers what is held, and gives the hub its own D1 back. */
  control.restore = () => {
    open()
    restore()
  }
  return control
}

/** A new redirect code, and a feed on it (greeted) with its merchant's key. */
async function watchedCode() {
  const created = await newCode()
  const live = await openLive(created.code.id, { key: created.key })
  await live.next((m) => m.type === 'hello')
  return { ...created, live }
}

/**
 * A greeted feed on a new code, a minute later (its credentials due for a check; the clock is
 * faked from here), with the hub's D1 answers held.
 */
async function dueWithD1Held() {
  const watched = await watchedCode()
  const d1 = await hubD1(watched.code.id)
  d1.hold()
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + CREDENTIALS_CHECK_MS })
  return { ...watched, d1 }
}

/** When `updateWaitingForOneOfTwo`'s second feed opens: its check is not due with the first's. */
const OTHER_OPENS_AFTER_MS = CREDENTIALS_CHECK_MS / 2 + 10_000

/**
 * Two feeds of one key on a new code (the clock faked from `start`), the second opened
 * OTHER_OPENS_AFTER_MS later; then, a minute after the first, with the hub's D1 held, a scan
 * whose update waits for the first feed's check.
 */
async function updateWaitingForOneOfTwo() {
  const { key, code } = await newCode()
  const start = Date.now()
  vi.useFakeTimers({ toFake: ['Date'], now: start })
  const d1 = await hubD1(code.id)
  const due = await openLive(code.id, { key })
  await due.next((m) => m.type === 'hello')
  vi.setSystemTime(start + OTHER_OPENS_AFTER_MS)
  const other = await openLive(code.id, { key })
  await other.next((m) => m.type === 'hello')
  d1.hold()
  vi.setSystemTime(start + CREDENTIALS_CHECK_MS)
  await scan(code.slug)
  await sleep(50)
  return { code, d1, start, due, other }
}

describe('live feed: credentials that end while it runs', () => {
  it('closes a feed whose key was revoked at its next check, before sending it anything more; feeds of live keys go on', async () => {
    const { key, code } = await newCode()
    const other = await secondKey(key)
    const kept = await openLive(code.id, { key })
    const revoked = await openLive(code.id, { key: other.key })
    await kept.next((m) => m.type === 'hello')
    await revoked.next((m) => m.type === 'hello')
    expect((await call(`/api/v1/api-keys/${other.id}`, { key, method: 'DELETE' })).status).toBe(200)
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    try {
      // Within the interval since the Worker checked it, a feed is not asked about again.
      vi.setSystemTime(start + CREDENTIALS_CHECK_MS / 2)
      await scan(code.slug)
      await revoked.next((m) => m.type === 'update')
      expect(revoked.closed).toEqual([])

      vi.setSystemTime(start + CREDENTIALS_CHECK_MS)
      const keptSeen = kept.received.length
      await closedUnanswered(revoked, FEED_REVOKED, () => scan(code.slug))
      expect(revoked.closed[0]?.reason).toBe('credentials ended')
      // The other feed got that scan, and goes on past the next interval too.
      await kept.next((m) => m.type === 'update', keptSeen)
      vi.setSystemTime(start + 2.5 * CREDENTIALS_CHECK_MS)
      const later = kept.received.length
      await scan(code.slug)
      expect(await kept.next((m) => m.type === 'update', later)).toMatchObject({
        counters: { scans: 3 },
      })
      expect(kept.closed).toEqual([])
      expect(
        await runInDurableObject(hubFor(env, code.id), (_, state) => state.getWebSockets().length),
      ).toBe(1)
    } finally {
      vi.useRealTimers()
      kept.ws.close()
    }
  })

  it("keeps a scoped key's feed, opened with the key or its live token, past the credentials check", async () => {
    const { key, code } = await newCode()
    const made = await call('/api/v1/api-keys', {
      key,
      json: { name: 'feed only', scopes: ['stats:read'] },
    })
    const scoped = (await made.json()) as { key: string }
    const issued = await call(`/api/v1/codes/${code.id}/live-token`, {
      key: scoped.key,
      method: 'POST',
    })
    expect(issued.status).toBe(201)
    const { token } = (await issued.json()) as { token: string }
    const byKey = await openLive(code.id, { key: scoped.key })
    const byToken = await openLive(code.id, { token })
    await byKey.next((m) => m.type === 'hello')
    await byToken.next((m) => m.type === 'hello')
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + CREDENTIALS_CHECK_MS })
    try {
      await scan(code.slug)
      expect(await byKey.next((m) => m.type === 'update')).toMatchObject({ counters: { scans: 1 } })
      expect(await byToken.next((m) => m.type === 'update')).toMatchObject({
        counters: { scans: 1 },
      })
      expect([...byKey.closed, ...byToken.closed]).toEqual([])
    } finally {
      vi.useRealTimers()
      byKey.ws.close()
      byToken.ws.close()
    }
    // A key without the feed's scope cannot open it.
    const other = await call('/api/v1/api-keys', {
      key,
      json: { name: 'codes only', scopes: ['codes:read'] },
    })
    const refused = await call(`/api/v1/codes/${code.id}/live`, {
      key: ((await other.json()) as { key: string }).key,
      headers: { upgrade: 'websocket' },
    })
    expect(refused.status).toBe(403)
    expect((await problemOf(refused)).code).toBe('insufficient_scope')
  })

  it('closes a revoked feed that asks for the counters, without answering', async () => {
    const { key, keyId, live } = await watchedCode()
    await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    await closedOnCountersRequest(live, Date.now() + CREDENTIALS_CHECK_MS, FEED_REVOKED)
  })

  it('goes on while D1 cannot confirm the credentials, and asks again after CREDENTIALS_RETRY_MS', async () => {
    const { key, keyId, code, live } = await watchedCode()
    await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    const d1 = await hubD1(code.id)
    d1.failing = true
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start + CREDENTIALS_CHECK_MS })
    try {
      const seen = live.received.length
      await scan(code.slug)
      await live.next((m) => m.type === 'update', seen)
      expect(d1.asked).toBe(1)
      expect(logLines(error)[0]).toMatchObject({
        event: "live feeds' credentials not checked; retrying",
        codeId: code.id,
      })
      // Not asked again at every scan meanwhile…
      await scan(code.slug)
      await live.next((m) => m.type === 'update' && m.counters.scans === 2, seen)
      expect(d1.asked).toBe(1)
      expect(live.closed).toEqual([])
      // …but once the retry interval has passed, when D1 answers again.
      d1.failing = false
      vi.setSystemTime(start + CREDENTIALS_CHECK_MS + CREDENTIALS_RETRY_MS)
      await closedUnanswered(live, FEED_REVOKED, () => scan(code.slug))
    } finally {
      vi.useRealTimers()
      d1.restore()
    }
  })

  it('sends the updates without the check when D1 takes longer than CREDENTIALS_TIMEOUT_MS', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { code, live, d1 } = await dueWithD1Held()
    try {
      const seen = live.received.length
      await scan(code.slug)
      // The update waits for the check, then goes once the check has given up.
      await sleep(CREDENTIALS_TIMEOUT_MS / 2)
      expect(live.received.slice(seen)).toEqual([])
      await live.next((m) => m.type === 'update', seen, CREDENTIALS_TIMEOUT_MS * 2)
      expect(logLines(error)[0]?.error?.message).toContain(
        `no answer within ${CREDENTIALS_TIMEOUT_MS} ms`,
      )
      expect(live.closed).toEqual([])
    } finally {
      vi.useRealTimers()
      d1.restore()
      live.ws.close()
    }
  })

  it('sends a feed opened during a check nothing older than its hello', async () => {
    const { key, code, live: first } = await watchedCode()
    const d1 = await hubD1(code.id)
    d1.hold()
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + CREDENTIALS_CHECK_MS })
    try {
      // Two updates wait for the first feed's check; a second feed opens meanwhile.
      await scan(code.slug)
      await sleep(MIN_INTERVAL_MS * 1.5)
      await scan(code.slug)
      const second = await openLive(code.id, { key })
      expect(await second.next((m) => m.type === 'hello')).toMatchObject({
        counters: { scans: 2 },
      })
      d1.release()
      await first.next((m) => m.type === 'update' && m.counters.scans === 2)
      await scan(code.slug)
      await second.next((m) => m.type === 'update' && m.counters.scans === 3)
      // The updates built before it opened (1 scan) went to the first feed only.
      const seen = second.received.map((r) => r.message.counters.scans)
      expect(seen[0]).toBe(2)
      expect(seen).toEqual([...seen].sort((a, b) => a - b))
      second.ws.close()
    } finally {
      vi.useRealTimers()
      d1.restore()
      first.ws.close()
    }
  })

  it("checks a feed that fell due during another feed's check before sending it more", async () => {
    const { key, code } = await newCode()
    const other = await secondKey(key)
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    const d1 = await hubD1(code.id)
    try {
      const first = await openLive(code.id, { key })
      await first.next((m) => m.type === 'hello')
      // Opened late enough not to be checked along with the first feed's first check.
      vi.setSystemTime(start + CREDENTIALS_CHECK_MS / 2 + 5_000)
      const revoked = await openLive(code.id, { key: other.key })
      await revoked.next((m) => m.type === 'hello')
      await call(`/api/v1/api-keys/${other.id}`, { key, method: 'DELETE' })
      // The first feed's check starts, and D1 is slow to answer…
      d1.hold()
      vi.setSystemTime(start + CREDENTIALS_CHECK_MS)
      await scan(code.slug)
      await sleep(50)
      // …while the second feed falls due too, and sends for the counters.
      vi.setSystemTime(start + 1.5 * CREDENTIALS_CHECK_MS + 10_000)
      await scan(code.slug)
      revoked.ws.send('counters')
      await sleep(50)
      d1.release()
      await revoked.closing()
      expect(revoked.closed.map((c) => c.code)).toEqual([FEED_REVOKED])
      // Nothing after its hello: the update built before it fell due waited for the first
      // check, by which time it was due itself, and was checked before that update went out.
      expect(revoked.received.map((r) => r.message.type)).toEqual(['hello'])
      await first.next((m) => m.type === 'update' && m.counters.scans === 2)
      first.ws.close()
    } finally {
      vi.useRealTimers()
      d1.restore()
    }
  })

  it("keeps every feed's messages in order while some wait for a check", async () => {
    const { code, d1, start, due, other } = await updateWaitingForOneOfTwo()
    try {
      // The first feed then goes away, so the second update has nobody to check: it must
      // still go after the first.
      due.ws.close()
      await sleep(MIN_INTERVAL_MS * 1.5)
      await scan(code.slug)
      await sleep(MIN_INTERVAL_MS * 1.5)
      // And a counters request, answered after the updates built before it.
      vi.setSystemTime(start + CREDENTIALS_CHECK_MS + COUNTERS_EVERY_MS)
      other.ws.send('counters')
      await sleep(100)
      d1.release()
      await other.next((m) => m.type === 'update' && m.counters.scans === 2)
      // In the order they were built: the second update only once the first had gone.
      expect(other.received.map((r) => `${r.message.type}:${r.message.counters.scans}`)).toEqual([
        'hello:0',
        'update:1',
        'counters:2',
        'update:2',
      ])
      other.ws.close()
    } finally {
      vi.useRealTimers()
      d1.restore()
    }
  })

  it('keeps coalescing while an update waits for a check: one update, not a burst, follows', async () => {
    const { code, live, d1 } = await dueWithD1Held()
    const hub = hubFor(env, code.id)
    try {
      const seen = live.received.length
      for (let i = 0; i < 10; i++) {
        await hub.recordScans([scanFor(code)])
        await sleep(MIN_INTERVAL_MS + 10)
      }
      expect(live.received.slice(seen)).toEqual([])
      d1.release()
      await live.next((m) => m.type === 'update' && m.counters.scans === 10, seen)
      await sleep(MIN_INTERVAL_MS * 2)
      // The update that waited (1 scan), then one with the other nine.
      expect(updates(live.received.slice(seen)).map((u) => u.message.events.length)).toEqual([1, 9])
    } finally {
      vi.useRealTimers()
      d1.restore()
      live.ws.close()
    }
  })

  it('sends nothing to a feed that expired while its update waited for a check', async () => {
    const { code, live } = await watchedCode()
    const d1 = await hubD1(code.id)
    d1.hold()
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start + FEED_MAX_MS - 1_000 })
    try {
      const seen = live.received.length
      await scan(code.slug)
      await sleep(50)
      vi.setSystemTime(start + FEED_MAX_MS)
      d1.release()
      await sleep(100)
      expect(live.received.slice(seen)).toEqual([])
      await closedUnanswered(live, FEED_EXPIRED, () => scan(code.slug))
    } finally {
      vi.useRealTimers()
      d1.restore()
    }
  })

  it('does not answer the counters of a feed that expired while the answer waited', async () => {
    // The second feed's counters answer waits behind the update, and its 30 minutes run out.
    const { code, d1, start, other } = await updateWaitingForOneOfTwo()
    try {
      const seen = other.received.length
      other.ws.send('counters')
      await sleep(50)
      vi.setSystemTime(start + OTHER_OPENS_AFTER_MS + FEED_MAX_MS)
      d1.release()
      await sleep(100)
      expect(other.received.slice(seen).map((r) => r.message.type)).not.toContain('counters')
      await closedUnanswered(other, FEED_EXPIRED, () => scan(code.slug))
    } finally {
      vi.useRealTimers()
      d1.restore()
    }
  })

  it('answers counters once a second at most while a check is on its way', async () => {
    const { live, d1 } = await dueWithD1Held()
    try {
      for (let i = 0; i < 20; i++) live.ws.send('counters')
      await sleep(100)
      d1.release()
      await live.next((m) => m.type === 'counters')
      await sleep(200)
      expect(live.received.filter((r) => r.message.type === 'counters')).toHaveLength(1)
      expect(d1.asked).toBe(1)
    } finally {
      vi.useRealTimers()
      d1.restore()
      live.ws.close()
    }
  })

  // 61 keys, each made, watched and revoked in turn: seconds when the machine is quiet.
  it('sends nothing to a feed its checks have not reached yet, when many keys are due at once', async () => {
    const { key, code } = await newCode()
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    const feeds: Live[] = []
    try {
      // More revoked keys than the checks before one update cover (20 a check, 3 checks).
      for (let i = 0; i < 61; i++) {
        const other = await secondKey(key)
        const live = await openLive(code.id, { key: other.key })
        await live.next((m) => m.type === 'hello')
        await call(`/api/v1/api-keys/${other.id}`, { key, method: 'DELETE' })
        feeds.push(live)
      }
      vi.setSystemTime(start + CREDENTIALS_CHECK_MS)
      await scan(code.slug)
      await sleep(500)
      expect(feeds.filter((f) => f.closed.length).length).toBe(60)
      expect(feeds.filter((f) => updates(f.received).length).length).toBe(0)
      // The one left over is checked before the next update.
      await scan(code.slug)
      await sleep(300)
      expect(feeds.filter((f) => f.closed.some((c) => c.code === FEED_REVOKED)).length).toBe(61)
      expect(feeds.filter((f) => updates(f.received).length).length).toBe(0)
    } finally {
      vi.useRealTimers()
      for (const feed of feeds) feed.ws.close()
    }
  }, 60_000)

  it('confirms the feeds of one key opened at different times together', async () => {
    const { key, code } = await newCode()
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    const d1 = await hubD1(code.id)
    const feeds: Live[] = []
    try {
      for (let i = 0; i < 4; i++) {
        vi.setSystemTime(start + i * 10_000)
        feeds.push(await openLive(code.id, { key }))
      }
      // A scan every 5 s for a minute, from the first feed's first check on.
      for (let s = 60; s <= 120; s += 5) {
        vi.setSystemTime(start + s * 1000)
        await scan(code.slug)
        await sleep(MIN_INTERVAL_MS + 20)
      }
      for (const feed of feeds) {
        expect(feed.closed).toEqual([])
        expect(updates(feed.received).at(-1)?.message.counters.scans).toBe(13)
      }
      // One read at 60 s (all four feeds due within 30 s), the next at 120 s.
      expect(d1.asked).toBe(2)
    } finally {
      vi.useRealTimers()
      d1.restore()
      for (const feed of feeds) feed.ws.close()
    }
  })

  it('ends, at its first check, a feed opened before feeds named their credentials', async () => {
    const { code, live } = await watchedCode()
    const hub = hubFor(env, code.id)
    await runInDurableObject(hub, (_, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ openedAt: Date.now() })
    })
    await evictDurableObject(hub, { webSockets: 'hibernate' })
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + CREDENTIALS_CHECK_MS })
    try {
      // The client reconnects, and the Worker checks its key as it opens the new feed.
      await closedUnanswered(live, FEED_EXPIRED, () => scan(code.slug))
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('live feed: delivery order', () => {
  it('goes on, in order, after a message whose recipients could not be had', async () => {
    const counters = (scans: number) => ({ scans }) as HubCounters
    const feed = new LiveFeed(
      () => [],
      () => [],
      () => counters(0),
    )
    const { 0: client, 1: server } = new WebSocketPair()
    server.accept()
    client.accept()
    const got: LiveMessage[] = []
    client.addEventListener('message', (e) => got.push(JSON.parse(String(e.data)) as LiveMessage))
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    let later = (_: WebSocket[]) => {}
    feed.deliver(
      new Promise((resolve) => {
        later = resolve
      }),
      { type: 'counters', counters: counters(1) },
    )
    feed.deliver(Promise.reject(new Error('no recipients')), {
      type: 'counters',
      counters: counters(2),
    })
    feed.deliver([server], { type: 'counters', counters: counters(3) })
    await sleep(20)
    expect(got).toEqual([])
    later([server])
    await sleep(20)
    expect(got.map((m) => m.counters.scans)).toEqual([1, 3])
    expect(logLines(error)[0]).toMatchObject({
      event: 'live feed: a message was not sent',
      error: { message: 'no recipients' },
    })
    // Nothing pending any more: the next one goes at once.
    feed.deliver([server], { type: 'counters', counters: counters(4) })
    await sleep(20)
    expect(got.map((m) => m.counters.scans)).toEqual([1, 3, 4])
  })
})

describe('live feed: who may watch', () => {
  it('opens with a live token from the API, without a header', async () => {
    const { key, code } = await newCode()
    const response = await call(`/api/v1/codes/${code.id}/live-token`, { key, method: 'POST' })
    expect(response.status).toBe(201)
    const body = (await response.json()) as { token: string; url: string; expires_at: string }
    expect(body.url).toBe(
      `wss://qr.test/api/v1/codes/${code.id}/live?token=${encodeURIComponent(body.token)}`,
    )
    const ttl = Date.parse(body.expires_at) - Date.now()
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
    const live = await openLive(code.id, { token: body.token })
    expect(await live.next((m) => m.type === 'hello')).toMatchObject({ code_id: code.id })
    live.ws.close()
  })

  it('refuses missing, malformed, unknown and revoked credentials with 401', async () => {
    const { key, keyId, code } = await newCode()
    const path = `/api/v1/codes/${code.id}/live`
    const ws = { upgrade: 'websocket' }
    const token = async (claims: Partial<Parameters<typeof signLiveToken>[1]>, secret?: string) =>
      signLiveToken(secret ?? (env.LIVE_TOKEN_SECRET as string), {
        codeId: code.id,
        merchantId: code.merchantId,
        apiKeyId: keyId,
        expiresAt: Date.now() + 60_000,
        ...claims,
      })
    const good = await token({})
    const attempts: [string, string, Record<string, string>][] = [
      ['nothing', path, ws],
      ['a malformed key', path, { ...ws, authorization: 'Bearer nope' }],
      ['an unknown key', path, { ...ws, authorization: `Bearer qrk_${'B'.repeat(32)}` }],
      ['a garbage token', `${path}?token=abc.def`, ws],
      ['a tampered token', `${path}?token=${good.slice(0, -2)}xx`, ws],
      ['an expired token', `${path}?token=${await token({ expiresAt: Date.now() - 1 })}`, ws],
      ['a token signed with another secret', `${path}?token=${await token({}, 'other')}`, ws],
      ['a token for another code', `/api/v1/codes/code_${'Z'.repeat(22)}/live?token=${good}`, ws],
    ]
    for (const [name, target, headers] of attempts) {
      const response = await call(target, { headers })
      expect(response.status, name).toBe(401)
      expect((await problemOf(response)).code, name).toBe('unauthorized')
    }
    // The good token works until its key is revoked.
    expect((await call(`${path}?token=${good}`, { headers: ws })).status).toBe(101)
    await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    expect((await call(`${path}?token=${good}`, { headers: ws })).status).toBe(401)
  })

  it("answers 404 for another merchant's code, with a key or with that merchant's token", async () => {
    const alice = await newCode()
    const bob = await newCode()
    const ws = { upgrade: 'websocket' }
    const byKey = await call(`/api/v1/codes/${alice.code.id}/live`, { key: bob.key, headers: ws })
    expect(byKey.status).toBe(404)
    expect((await problemOf(byKey)).code).toBe('not_found')
    const mint = await call(`/api/v1/codes/${alice.code.id}/live-token`, {
      key: bob.key,
      method: 'POST',
    })
    expect(mint.status).toBe(404)
    // A token Bob could only get by forging: right secret, Bob as merchant, Alice's code.
    const forged = await signLiveToken(env.LIVE_TOKEN_SECRET as string, {
      codeId: alice.code.id,
      merchantId: bob.merchantId,
      apiKeyId: bob.keyId,
      expiresAt: Date.now() + 60_000,
    })
    const byToken = await call(`/api/v1/codes/${alice.code.id}/live?token=${forged}`, {
      headers: ws,
    })
    expect(byToken.status).toBe(404)
  })

  it('asks for a WebSocket upgrade with 426, and issues no tokens without a secret', async () => {
    const { key, code } = await newCode()
    const plain = await call(`/api/v1/codes/${code.id}/live`, { key })
    expect(plain.status).toBe(426)
    expect((await problemOf(plain)).code).toBe('upgrade_required')
    const noSecret = { ...env, LIVE_TOKEN_SECRET: undefined } as Env
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const mint = () =>
      call(`/api/v1/codes/${code.id}/live-token`, { key, method: 'POST', env: noSecret })
    for (let i = 0; i < 3; i++) {
      const minted = await mint()
      expect(minted.status).toBe(503)
      expect((await problemOf(minted)).code).toBe('not_configured')
    }
    // A deliberate 503 is logged once per isolate, not once per request, and not as a crash.
    expect(warnings).toHaveBeenCalledTimes(1)
    expect(logLines(warnings)[0]).toMatchObject({
      event: 'deliberate 5xx answered',
      status: 503,
      code: 'not_configured',
      route: '/api/v1/codes/:id/live-token',
    })
    expect(errors).not.toHaveBeenCalled()
    errors.mockRestore()
    warnings.mockRestore()
  })

  it('lists the live routes in the OpenAPI document', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, unknown>
    }
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/codes/{id}/live',
        '/api/v1/codes/{id}/live-token',
        '/api/v1/codes/{id}/stats',
        '/api/v1/codes/{id}/scans.csv',
      ]),
    )
  })
})
