import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CODE_CACHE_TTL_MS, OUTAGE_RETRY_MS, READ_TIMEOUT_MS } from '../../src/codes/cache'
import { call, merchantWithCode, ORIGIN, problemOf, replaceMethod } from '../helpers'
import { logLine, logLines } from '../logs'

/** A D1 binding that fails like an outage: every statement throws. */
const downD1 = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('D1_ERROR: simulated outage')
    },
  },
) as D1Database

/**
 * A redirect code scanned once (this isolate and location know it), then the clock moved past
 * the cache bound (faking `timers` too, when asked); console.error is captured.
 */
async function staleCode(timers: ('setTimeout' | 'clearTimeout')[] = []) {
  const { code } = await merchantWithCode({
    action: 'redirect',
    destination_url: 'https://example.com/menu',
  })
  expect((await call(`/${code.slug}`)).status).toBe(302)
  const stale = Date.now() + CODE_CACHE_TTL_MS + 1000
  vi.useFakeTimers({ toFake: ['Date', ...timers], now: stale })
  const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
  return { code, stale, logged }
}

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('scans during a D1 outage', () => {
  it('keep redirecting from the last known entry once the cache bound has passed', async () => {
    const { code, logged } = await staleCode()
    const during = await call(`/${code.slug}`, { env: { DB: downD1 } })
    expect(during.status).toBe(302)
    expect(during.headers.get('location')).toBe('https://example.com/menu')
    expect(logLine(logged, 'D1 unavailable; answering from the last known entry')).toMatchObject({
      slug: code.slug,
      error: { stack: expect.any(String) },
    })
  })

  it('answer a code never seen here with a 503 page, and the QR with a 503 problem, never a 500', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const page = await call('/neverseen1', { env: { DB: downD1 } })
    // The outage's cause is logged, with the code it stopped.
    expect(
      logLines(logged).some(
        (line) => line.event.includes('D1 unavailable') && line.slug === 'neverseen1',
      ),
    ).toBe(true)
    expect(page.status).toBe(503)
    expect(page.headers.get('content-type')).toContain('text/html')
    const qr = await call('/qr/neverseen2.svg', { env: { DB: downD1 } })
    expect(qr.status).toBe(503)
    expect((await problemOf(qr)).code).toBe('temporarily_unavailable')
    // The deliberate 503 is reported once per route, not per slug: random slugs add no lines.
    for (const slug of ['neverseen3', 'neverseen4']) {
      expect((await call(`/${slug}`, { env: { DB: downD1 } })).status).toBe(503)
    }
    const pageWarnings = logLines(warned).filter(
      (line) =>
        line.event === 'deliberate 5xx answered' &&
        line.status === 503 &&
        line.code === 'temporarily_unavailable' &&
        line.method === 'GET' &&
        !String(line.route).startsWith('/qr'),
    )
    expect(pageWarnings).toHaveLength(1)
  })
})

/** The test D1, or a failing one, counting the statements prepared on it. */
function countingD1(target: D1Database | null) {
  const counter = { prepared: 0 }
  const d1 = replaceMethod(target ?? downD1, 'prepare', (prepare) => (query) => {
    counter.prepared++
    return prepare(query)
  })
  return { d1, counter }
}

describe('what an outage and a crowd cost D1', () => {
  it('asks D1 once per slug per retry interval during an outage, not once per scan', async () => {
    const { code, stale } = await staleCode()
    const { d1, counter } = countingD1(null)
    for (let i = 0; i < 10; i++) {
      expect((await call(`/${code.slug}`, { env: { DB: d1 } })).status).toBe(302)
    }
    expect(counter.prepared).toBe(1)
    vi.setSystemTime(stale + OUTAGE_RETRY_MS)
    expect((await call(`/${code.slug}`, { env: { DB: d1 } })).status).toBe(302)
    expect(counter.prepared).toBe(2)
    // D1 back: the next read after the interval serves the fresh value again.
    vi.setSystemTime(stale + 2 * OUTAGE_RETRY_MS)
    const { d1: up, counter: reads } = countingD1(env.DB)
    expect((await call(`/${code.slug}`, { env: { DB: up } })).status).toBe(302)
    expect(reads.prepared).toBe(1)
  })

  it('lets concurrent first scans of a slug share one D1 read', async () => {
    const one = await merchantWithCode({ action: 'redirect', destination_url: 'https://a.example' })
    const crowd = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://b.example',
    })
    const single = countingD1(env.DB)
    expect((await call(`/${one.code.slug}`, { env: { DB: single.d1 } })).status).toBe(302)
    const many = countingD1(env.DB)
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call(`/${crowd.code.slug}`, { env: { DB: many.d1 } })),
    )
    expect(answers.every((a) => a.status === 302)).toBe(true)
    expect(single.counter.prepared).toBeGreaterThan(0)
    expect(many.counter.prepared).toBe(single.counter.prepared)
  })

  it('treats an unreadable cached entry as a miss, never a 500', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/menu',
    })
    await caches.default.put(
      `${ORIGIN}/__cache/code/${encodeURIComponent(code.slug)}`,
      new Response('{not json', { headers: { 'cache-control': 'max-age=60' } }),
    )
    const response = await call(`/${code.slug}`)
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('https://example.com/menu')
  })
})

describe('a D1 read that never answers', () => {
  it('counts as failed after READ_TIMEOUT_MS: the scan is answered from the last known entry', async () => {
    const realTimeout = globalThis.setTimeout
    const { code, logged } = await staleCode(['setTimeout', 'clearTimeout'])
    // Every statement hangs.
    let asked = 0
    const hanging = new Proxy({} as D1Database, {
      get: () => () => {
        asked++
        return { bind: () => hangingStatement, ...hangingStatement }
      },
    })
    const realWait = (ms: number) => new Promise((resolve) => realTimeout(resolve, ms))
    /** A scan in flight, and a way to let it finish while moving the fake clock on. */
    const scan = () => {
      const state = { answered: false }
      const pending = call(`/${code.slug}`, { env: { DB: hanging } }).finally(() => {
        state.answered = true
      })
      const settle = async () => {
        for (let i = 0; i < 100 && !state.answered; i++) {
          await realWait(10)
          await vi.advanceTimersByTimeAsync(100)
        }
        return pending
      }
      return { state, settle }
    }
    const first = scan()
    // The read starts after real I/O (the Cache API). One millisecond short of the timeout, the
    // scan still waits; then it is answered.
    for (let i = 0; i < 100 && asked === 0; i++) await realWait(10)
    expect(asked).toBe(1)
    await vi.advanceTimersByTimeAsync(READ_TIMEOUT_MS - 1)
    await realWait(20)
    expect(first.state.answered).toBe(false)
    const answer = await first.settle()
    expect(answer.status).toBe(302)
    expect(answer.headers.get('location')).toBe('https://example.com/menu')
    expect(String(logged.mock.calls.flat().join(' '))).toContain('did not answer')
    // The retry interval starts when the read gave up: the next scans do not wait on D1 again.
    const before = asked
    const next = await scan().settle()
    expect(next.status).toBe(302)
    expect(asked).toBe(before)
  })
})

const never = () => new Promise<never>(() => {})
const hangingStatement = { first: never, all: never, raw: never, run: never }
