import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_PACE, type Pace, SLOWEST_PACE } from '../../src/hub/pace'
import type { HubScan } from '../../src/hub/types'
import { PACE_TTL_MS, paceOf, SEND_ATTEMPTS, sendScan } from '../../src/scan/batcher'
import { visitorHash } from '../../src/scan/visitor'
import { scanFor } from '../hub/fixtures'
import { loggedText, logLine } from '../logs'

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
    expect(logLine(error, 'visitor hash not computed')).toMatchObject({
      codeId: code.id,
      scanId: scans[3]?.id,
      error: { message: 'unreadable' },
    })
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
    // Every try, and the log, carry the visitor hash, never the IP or the user agent.
    const hash = visitorHash('s3cret', scan.scannedAt, ip, 'Quirky/1.0') as string
    expect(calls.every((c) => c[0]?.visitorHash === hash)).toBe(true)
    const line = logLine(error, 'scans not stored')
    expect(line).toMatchObject({ codeId: scan.codeId, attempts: SEND_ATTEMPTS, count: 1 })
    expect(line.error?.stack).toEqual(expect.any(String))
    expect(line.scans).toEqual([expect.objectContaining({ id: scan.id, visitorHash: hash })])
    const logged = loggedText(error)
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
