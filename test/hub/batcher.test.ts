import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PACE_TTL_MS, paceOf, SEND_ATTEMPTS, sendScan } from '../../src/hub/batcher'
import { hubFor } from '../../src/hub/client'
import {
  DEFAULT_PACE,
  type Pace,
  Pacer,
  paceFor,
  SLOWEST_PACE,
  TARGET_CALLS_PER_S,
} from '../../src/hub/pace'
import type { HubScan } from '../../src/hub/types'
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
    const delivered = sendScan(fake, scan).delivered
    await vi.advanceTimersByTimeAsync(5_000)
    await expect(delivered).resolves.toBeUndefined()
    expect(calls).toHaveLength(SEND_ATTEMPTS)
    expect(calls.every((c) => c[0]?.id === scan.id)).toBe(true)
    expect(error).toHaveBeenCalledTimes(1)
    expect(String(error.mock.calls[0]?.[1])).toContain(scan.id)
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

  it('slows a code to the slowest pace when its hub refuses a call as overloaded', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const overloaded = () =>
      Object.assign(new Error('Durable Object is overloaded'), { overloaded: true })
    const { env: fake, calls } = fakeHub({ failures: SEND_ATTEMPTS, error: overloaded })
    const code = newCodeRef()
    sendScan(fake, scanFor(code))
    await vi.advanceTimersByTimeAsync(DEFAULT_PACE.windowMs)
    expect(calls).toHaveLength(1)
    expect(paceOf(code.id, Date.now())).toEqual(SLOWEST_PACE)
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
  /** `isolates` isolates whose batches each wait their whole window: calls a second per pace. */
  const callsPerSecond = (isolates: number, pace: Pace) =>
    Math.round((isolates * 1000) / pace.windowMs)

  /** Runs `seconds` seconds of `isolates` isolates sending at the pace the pacer answers. */
  function simulate(pacer: Pacer, isolates: number, seconds: number, start: number) {
    let pace = DEFAULT_PACE
    const rates: number[] = []
    for (let s = 0; s < seconds; s++) {
      const calls = isolates === 0 ? 0 : callsPerSecond(isolates, pace)
      rates.push(calls)
      for (let i = 0; i < calls; i++) pace = pacer.call(start + s * 1000 + (i * 1000) / calls)
    }
    return { rates, pace }
  }

  it('stays at the default pace while the calls stay under the target', () => {
    const pacer = new Pacer()
    const { rates, pace } = simulate(pacer, 18, 10, 0)
    expect(rates.every((r) => r <= TARGET_CALLS_PER_S)).toBe(true)
    expect(pace).toEqual(DEFAULT_PACE)
  })

  it('slows the isolates until its calls settle near the target', () => {
    const pacer = new Pacer()
    // 100 isolates at the default pace: 1,000 calls a second, five times the target.
    const { rates, pace } = simulate(pacer, 100, 15, 0)
    expect(rates[0]).toBe(1_000)
    const settled = rates.slice(-5)
    expect(Math.max(...settled)).toBeLessThanOrEqual(TARGET_CALLS_PER_S * 1.25)
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(TARGET_CALLS_PER_S * 0.75)
    expect(pace.windowMs).toBeGreaterThan(DEFAULT_PACE.windowMs)
  })

  it('asks no more than the slowest pace, however many isolates call', () => {
    const pacer = new Pacer()
    const { rates, pace } = simulate(pacer, 2_000, 20, 0)
    expect(pace).toEqual(SLOWEST_PACE)
    // 20× fewer calls than at the default pace.
    expect(rates.at(-1)).toBe(callsPerSecond(2_000, SLOWEST_PACE))
    expect(rates.at(-1)).toBe(rates[0] ? rates[0] / 20 : Number.NaN)
  })

  it('goes back to the default pace by halves once the load is gone', () => {
    const pacer = new Pacer()
    simulate(pacer, 2_000, 20, 0)
    // Quiet seconds, then one call a second: each second at most halves the slow-down.
    expect(pacer.call(22_000)).toEqual(paceFor(10))
    expect(pacer.call(23_000)).toEqual(paceFor(5))
    expect(pacer.call(24_000)).toEqual(paceFor(2.5))
    expect(pacer.call(25_000)).toEqual(paceFor(1.25))
    expect(pacer.call(26_000)).toEqual(DEFAULT_PACE)
  })

  it('is what the hub answers each batch with', async () => {
    const { key, merchantId } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })
    const ref = { id: code.id, merchantId }
    const second = Math.floor(Date.now() / 1000) * 1000
    const answers = await runInDurableObject(hubFor(env, code.id), async (hub) => {
      vi.useFakeTimers({ toFake: ['Date'], now: second + 10 })
      try {
        const first = await hub.recordScans([scanFor(ref)])
        // Four times the target in one second, then the next second's first call.
        for (let i = 0; i < TARGET_CALLS_PER_S * 4; i++) await hub.recordScans([])
        vi.setSystemTime(second + 1_010)
        const next = await hub.recordScans([scanFor(ref)])
        return { first, next }
      } finally {
        vi.useRealTimers()
      }
    })
    expect(answers.first).toEqual({ stored: 1, pace: DEFAULT_PACE })
    // 801 calls in that second: the slow-down grows by √(801 / 200).
    expect(answers.next).toEqual({
      stored: 1,
      pace: paceFor(Math.sqrt((TARGET_CALLS_PER_S * 4 + 1) / TARGET_CALLS_PER_S)),
    })
  })
})
