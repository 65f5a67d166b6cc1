/** The pace a hub asks of the isolates that batch its scans (src/hub/pace.ts). */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import { DEFAULT_PACE, Pacer, SLOWEST_PACE, SPAN_MS, TARGET_CALLS_PER_S } from '../../src/hub/pace'
import { createCode, newMerchant } from '../helpers'
import { scanFor } from './fixtures'

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
