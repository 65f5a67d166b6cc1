import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PACE_TTL_MS, paceOf, SEND_ATTEMPTS, sendScan } from '../../src/hub/batcher'
import { hubFor } from '../../src/hub/client'
import {
  DEFAULT_PACE,
  type Pace,
  Pacer,
  SLOWEST_PACE,
  SPAN_MS,
  TARGET_CALLS_PER_S,
} from '../../src/hub/pace'
import type { HubScan } from '../../src/hub/types'
import { visitorHash } from '../../src/scan/visitor'
import { createCode, newMerchant } from '../helpers'
import { scanFor } from './fixtures'

/** A hub stub that records each call, fails the first `failures` ones, and answers `pace`. */
function fakeHub(options: { failures?: number; error?: () => unknown; pace?: Pace } = {}) {
  const calls: HubScan[][] = []
  const stub = {
    async recordScans(scans: HubScan[]) {
      calls.push(scans)
      if (calls.length <= (options.failures ?? 0))
        throw options.error?.() ?? new Error('hub unavailable')
      return { stored: scans.length, pace: options.pace ?? DEFAULT_PACE }
    },
  }
  const CODE_HUB = { idFromName: (name: string) => name, get: () => stub }
  return { env: { CODE_HUB } as unknown as Env, calls }
}

let codes = 0
const newCodeRef = () => ({ id: `code_batcher${++codes}`, merchantId: 'mer_x' })

describe('the per-isolate batcher', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  it('sends scans of one code arriving together in one call, and resolves each when it is stored', async () => {
    const { env: fake, calls } = fakeHub()
    const code = newCodeRef()
    const queued = Array.from({ length: 7 }, () => sendScan(fake, scanFor(code)))
    // Only the request that opened the batch (its timer sends it) has to stay alive for it.
    expect(queued.map((q) => q.keepAlive)).toEqual([true, false, false, false, false, false, false])
    const done = await Promise.all(queued.map((q) => q.delivered.then(() => calls.length)))
    expect(calls).toHaveLength(1)
    expect(calls[0]).toHaveLength(7)
    expect(done).toEqual(Array(7).fill(1))
  })

  it("fills in the batch's visitor hashes as it leaves, and sends a scan whose hash fails without one", async () => {
    const { env: fake, calls } = fakeHub()
    const code = newCodeRef()
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const ua = 'Mozilla/5.0 (iPhone)'
    const visitor = (ip: unknown) => ({ secret: 'hash-secret', ip: ip as string, userAgent: ua })
    const scans = [scanFor(code), scanFor(code), scanFor(code), scanFor(code)]
    const unreadable = {
      toString() {
        throw new Error('unreadable')
      },
    }
    const queued = [
      sendScan(fake, scans[0] as HubScan, visitor('203.0.113.1')),
      sendScan(fake, scans[1] as HubScan, visitor('203.0.113.2')),
      sendScan(fake, scans[2] as HubScan),
      sendScan(fake, scans[3] as HubScan, visitor(unreadable)),
    ]
    // Nothing is hashed while the scans wait in their batch.
    expect(scans.map((s) => s.visitorHash)).toEqual([null, null, null, null])
    await Promise.all(queued.map((q) => q.delivered))
    expect(calls[0]?.map((s) => s.visitorHash)).toEqual([
      visitorHash('hash-secret', scans[0]?.scannedAt as number, '203.0.113.1', ua),
      visitorHash('hash-secret', scans[1]?.scannedAt as number, '203.0.113.2', ua),
      null,
      null,
    ])
    expect(calls[0]?.[0]?.visitorHash).toMatch(/^[0-9a-f]{32}$/)
    expect(String(error.mock.calls[0]?.[0])).toContain('visitor hash not computed')
  })

  it('sends a full batch at once, from the request that filled it, which stays alive for it too', async () => {
    const { env: fake, calls } = fakeHub()
    const code = newCodeRef()
    const max = DEFAULT_PACE.maxScans
    const queued = Array.from({ length: max + 1 }, () => sendScan(fake, scanFor(code)))
    const keptAlive = queued.flatMap((q, i) => (q.keepAlive ? [i] : []))
    expect(keptAlive).toEqual([0, max - 1, max])
    await queued[max - 1]?.delivered
    expect(calls.map((c) => c.length)).toEqual([max])
    await queued[max]?.delivered
    expect(calls.map((c) => c.length)).toEqual([max, 1])
  })

  it('tries a failed call again after a backoff, and logs nothing when that works', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { env: fake, calls } = fakeHub({ failures: 1 })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const delivered = sendScan(fake, scanFor(newCodeRef())).delivered
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    expect(calls).toHaveLength(1)
    // The first retry waits 125–375 ms (250 ms, jittered).
    await vi.advanceTimersByTimeAsync(100)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(300)
    await delivered
    expect(calls).toHaveLength(2)
    expect(error).not.toHaveBeenCalled()
  })

  it('logs the whole batch after the last attempt fails, and still resolves', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { env: fake, calls } = fakeHub({ failures: SEND_ATTEMPTS })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const scan = scanFor(newCodeRef())
    const ip = '198.51.100.77'
    const delivered = sendScan(fake, scan, {
      secret: 's3cret',
      ip,
      userAgent: 'Quirky/1.0',
    }).delivered
    await vi.advanceTimersByTimeAsync(5_000)
    await expect(delivered).resolves.toBeUndefined()
    expect(calls).toHaveLength(SEND_ATTEMPTS)
    expect(calls.every((c) => c[0]?.id === scan.id)).toBe(true)
    expect(error).toHaveBeenCalledTimes(1)
    const logged = String(error.mock.calls[0]?.[1])
    expect(logged).toContain(scan.id)
    // Every try, and the log, carry the visitor hash, never the IP or the user agent.
    const hash = visitorHash('s3cret', scan.scannedAt, ip, 'Quirky/1.0') as string
    expect(calls.every((c) => c[0]?.visitorHash === hash)).toBe(true)
    expect(logged).toContain(hash)
    expect(logged).not.toContain(ip)
    expect(logged).not.toContain('Quirky')
  })

  it('hashes each scan of a batch that straddles UTC midnight with its own day', async () => {
    const midnight = Date.UTC(2026, 10, 26)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: midnight - 50 })
    const { env: fake, calls } = fakeHub()
    const code = newCodeRef()
    const visitor = { secret: 's3cret', ip: '198.51.100.77', userAgent: 'UA' }
    const before = scanFor(code, { scannedAt: Date.now() })
    const delivered = sendScan(fake, before, visitor).delivered
    vi.setSystemTime(midnight + 10)
    sendScan(fake, scanFor(code, { scannedAt: Date.now() }), visitor)
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    await delivered
    const hash = (at: number) => visitorHash('s3cret', at, visitor.ip, visitor.userAgent)
    expect(calls[0]?.map((s) => s.visitorHash)).toEqual([hash(midnight - 1), hash(midnight)])
    expect(hash(midnight - 1)).not.toBe(hash(midnight))
  })

  it("batches a code's next scans at the pace its hub answered, until the pace expires", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_800_000_000_000 })
    const pace = { windowMs: 1_000, maxScans: 3 }
    const { env: fake, calls } = fakeHub({ pace })
    const code = newCodeRef()
    const other = newCodeRef()
    // The first batch goes at the default pace; its answer carries the hub's pace.
    sendScan(fake, scanFor(code))
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    expect(calls).toHaveLength(1)
    expect(paceOf(code.id, Date.now())).toEqual(pace)
    expect(paceOf(other.id, Date.now())).toEqual(DEFAULT_PACE)

    // A batch now waits the hub's window…
    sendScan(fake, scanFor(code))
    await vi.advanceTimersByTimeAsync(pace.windowMs - 1)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
    // …or goes as soon as it holds the hub's batch size.
    for (let i = 0; i < pace.maxScans; i++) sendScan(fake, scanFor(code))
    await vi.advanceTimersByTimeAsync(0)
    expect(calls.map((c) => c.length)).toEqual([1, 1, 3])

    await vi.advanceTimersByTimeAsync(PACE_TTL_MS)
    expect(paceOf(code.id, Date.now())).toEqual(DEFAULT_PACE)
  })

  it('slows a code to the slowest pace when its hub refuses a call as overloaded, and tries once more only, later', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const overloaded = () =>
      Object.assign(new Error('Durable Object is overloaded'), { overloaded: true })
    const { env: fake, calls } = fakeHub({ failures: SEND_ATTEMPTS, error: overloaded })
    const code = newCodeRef()
    const delivered = sendScan(fake, scanFor(code)).delivered
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    expect(calls).toHaveLength(1)
    expect(paceOf(code.id, Date.now())).toEqual(SLOWEST_PACE)
    // Not within the usual backoff: only after (half) the slowest window at least.
    await vi.advanceTimersByTimeAsync(SLOWEST_PACE.windowMs / 2 - 1)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(SLOWEST_PACE.windowMs)
    expect(calls).toHaveLength(2)
    // Overloaded twice: logged, not tried a third time.
    await vi.advanceTimersByTimeAsync(10_000)
    await delivered
    expect(calls).toHaveLength(2)
    expect(error).toHaveBeenCalledTimes(1)

    // An overload then a success: the default pace the hub answers does not undo the slow-down,
    // nor does another batch's answer meanwhile (here, a batch sent through another stub).
    const recovering = fakeHub({ failures: 1, error: overloaded })
    const busy = newCodeRef()
    sendScan(recovering.env, scanFor(busy))
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    expect(paceOf(busy.id, Date.now())).toEqual(SLOWEST_PACE)
    const healthy = fakeHub()
    sendScan(healthy.env, scanFor(busy))
    await vi.advanceTimersByTimeAsync(SLOWEST_PACE.windowMs)
    expect(healthy.calls).toHaveLength(1)
    expect(paceOf(busy.id, Date.now())).toEqual(SLOWEST_PACE)
    await vi.advanceTimersByTimeAsync(2 * SLOWEST_PACE.windowMs)
    expect(recovering.calls).toHaveLength(2)
    expect(paceOf(busy.id, Date.now())).toEqual(SLOWEST_PACE)

    // Another error is retried too, but slows nothing.
    const other = newCodeRef()
    const failing = fakeHub({ failures: 1 })
    sendScan(failing.env, scanFor(other))
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    expect(failing.calls).toHaveLength(1)
    expect(paceOf(other.id, Date.now())).toEqual(DEFAULT_PACE)
    await vi.advanceTimersByTimeAsync(5_000)
  })
})

describe("a hub's pace", () => {
  /**
   * `isolates` isolates whose batches each wait their whole window (the common case: many
   * locations, a few scans each), each calling at its own phase and then every window of the
   * pace its last answer carried. Returns the calls a second in each span of SPAN_MS, the window
   * answered at the start of each span, and the last pace answered.
   */
  function fleet(
    pacer: Pacer,
    options: { isolates: number; seconds: number; start?: number; aligned?: boolean },
  ) {
    const { isolates, seconds, start = 0 } = options
    const tick = 10
    const next = Array.from({ length: isolates }, (_, i) =>
      options.aligned ? 0 : Math.floor((i / isolates) * DEFAULT_PACE.windowMs),
    )
    const calls = new Array<number>(Math.ceil((seconds * 1000) / SPAN_MS)).fill(0)
    const windows: number[] = []
    let pace = DEFAULT_PACE
    for (let t = 0; t < seconds * 1000; t += tick) {
      if (t % SPAN_MS === 0) windows.push(pace.windowMs)
      for (let i = 0; i < isolates; i++) {
        if ((next[i] as number) > t) continue
        pace = pacer.call(start + t)
        calls[Math.floor(t / SPAN_MS)] = (calls[Math.floor(t / SPAN_MS)] ?? 0) + 1
        next[i] = t + pace.windowMs
      }
    }
    return { rates: calls.map((n) => n / (SPAN_MS / 1000)), windows, pace }
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  /** The last spans' calls average within 15% of the target, and the window holds within 25%. */
  const settled = (run: { rates: number[]; windows: number[] }) => {
    const rate = mean(run.rates.slice(-10))
    expect(rate).toBeGreaterThanOrEqual(TARGET_CALLS_PER_S * 0.85)
    expect(rate).toBeLessThanOrEqual(TARGET_CALLS_PER_S * 1.15)
    const windows = run.windows.slice(-10)
    expect(Math.max(...windows) / Math.min(...windows)).toBeLessThan(1.25 / 0.75)
  }

  it('stays at the default pace while the calls stay under the target', () => {
    const { rates, pace } = fleet(new Pacer(), { isolates: 18, seconds: 10 })
    expect(rates.every((r) => r <= TARGET_CALLS_PER_S)).toBe(true)
    expect(pace).toEqual(DEFAULT_PACE)
  })

  it('slows the isolates until its calls settle near the target', () => {
    // 100 isolates at the default pace: 1,000 calls a second, five times the target.
    const run = fleet(new Pacer(), { isolates: 100, seconds: 60 })
    expect(run.rates[0]).toBeGreaterThan(990)
    settled(run)
    expect(run.pace.windowMs).toBeGreaterThan(DEFAULT_PACE.windowMs)
  })

  it('settles too when the isolates call in step, leaving whole seconds without a call', () => {
    for (const isolates of [100, 300]) {
      settled(fleet(new Pacer(), { isolates, seconds: 60, aligned: true }))
    }
  })

  it('asks no more than the slowest pace, however many isolates call', () => {
    const { rates, pace } = fleet(new Pacer(), { isolates: 2_000, seconds: 40 })
    expect(pace).toEqual(SLOWEST_PACE)
    // 20× fewer calls than at the default pace.
    expect(rates[0]).toBeGreaterThan(19_900)
    expect(rates.at(-1)).toBe(1_000)
  })

  it('goes back to the default pace by halves once the load is gone', () => {
    const pacer = new Pacer()
    fleet(pacer, { isolates: 2_000, seconds: 40 })
    // One span with no call, then one call a span: each halves the slow-down.
    expect(pacer.call(42_000)).toEqual({ windowMs: 1_000, maxScans: 250 })
    expect(pacer.call(44_000)).toEqual({ windowMs: 500, maxScans: 250 })
    expect(pacer.call(46_000)).toEqual({ windowMs: 250, maxScans: 250 })
    expect(pacer.call(48_000)).toEqual({ windowMs: 125, maxScans: 125 })
    expect(pacer.call(50_000)).toEqual({ windowMs: 100, maxScans: 100 })
    // After a long silence, the default pace at once.
    fleet(pacer, { isolates: 2_000, seconds: 40, start: 100_000 })
    expect(pacer.call(200_000)).toEqual(DEFAULT_PACE)
  })

  it('is what the hub answers each batch with', async () => {
    const { key, merchantId } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })
    const ref = { id: code.id, merchantId }
    const span = Math.floor(Date.now() / SPAN_MS) * SPAN_MS
    const answers = await runInDurableObject(hubFor(env, code.id), async (hub) => {
      vi.useFakeTimers({ toFake: ['Date'], now: span + 10 })
      try {
        const first = await hub.recordScans([scanFor(ref)])
        // Four times the target over one span, then the next span's first call.
        const calls = (TARGET_CALLS_PER_S * 4 * SPAN_MS) / 1000
        for (let i = 0; i < calls; i++) await hub.recordScans([])
        vi.setSystemTime(span + SPAN_MS + 10)
        const next = await hub.recordScans([scanFor(ref)])
        return { first, next }
      } finally {
        vi.useRealTimers()
      }
    })
    expect(answers.first).toEqual({ stored: 1, pace: DEFAULT_PACE })
    // 1,601 calls in that span of 2 s: 800.5 a second, 4× the target, so the slow-down doubles
    // (√4): a 200 ms window and 200-scan batches.
    expect(answers.next).toEqual({ stored: 1, pace: { windowMs: 200, maxScans: 200 } })
  })
})
