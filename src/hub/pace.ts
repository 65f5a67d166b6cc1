/**
 * Backpressure from a code's hub to the isolates that batch scans for it.
 *
 * Each isolate sends a code's scans in batches (scan/batcher.ts): one call per window or per full
 * batch. Isolates do not know about each other, so when a code is scanned in many places at once
 * (a code on TV), the calls to its one hub add up: a Durable Object takes on the order of 1,000 a
 * second. The hub therefore counts the calls it gets and answers each with the pace it wants:
 * a longer window and bigger batches while it gets more than TARGET_CALLS_PER_S a second. The
 * isolates use the latest pace for that code's next batches, so the hub's call rate settles near
 * the target however many isolates send, at the price of the live feed's scans arriving a little
 * later.
 *
 * The pace is a hint kept in memory on both sides: losing it (an eviction) only means batches go
 * back to the default pace until the hub asks again.
 */

export interface Pace {
  /** How long a batch collects scans before it is sent. */
  windowMs: number
  /** A batch this full is sent at once. */
  maxScans: number
}

export const DEFAULT_PACE: Pace = { windowMs: 100, maxScans: 100 }

/** Calls a second a hub aims to stay under. */
export const TARGET_CALLS_PER_S = 200
/** The slowest pace a hub asks for: ~20× fewer calls from isolates whose batches wait their window. */
export const SLOWEST_PACE: Pace = { windowMs: 2_000, maxScans: 250 }
const MAX_FACTOR = SLOWEST_PACE.windowMs / DEFAULT_PACE.windowMs

const clampFactor = (factor: number) => Math.min(MAX_FACTOR, Math.max(1, factor))

/** The pace for a slow-down factor (1 = the default pace). */
export function paceFor(factor: number): Pace {
  const f = clampFactor(factor)
  return {
    windowMs: Math.round(DEFAULT_PACE.windowMs * f),
    maxScans: Math.min(SLOWEST_PACE.maxScans, Math.round(DEFAULT_PACE.maxScans * f)),
  }
}

/**
 * Calls are counted over spans this long: the slowest window, so that at any pace every isolate
 * sending to the hub calls at least once per span, and a span's count is its real load.
 */
export const SPAN_MS = SLOWEST_PACE.windowMs

/**
 * A hub's side: counts calls per span of SPAN_MS and, as each span ends, moves its factor by the
 * square root of (the span's calls per second / target). The square root damps the loop (the
 * isolates apply a new pace one batch later); a span under the target at most halves the factor,
 * and so does each whole span with no call at all, so the default pace comes back within seconds
 * of the load going, not at once when a burst pauses.
 */
export class Pacer {
  #span = Number.NEGATIVE_INFINITY
  #calls = 0
  #factor = 1

  /** Counts one call at `now` (epoch ms) and returns the pace to ask of the caller. */
  call(now: number): Pace {
    const span = Math.floor(now / SPAN_MS)
    if (span > this.#span) {
      if (Number.isFinite(this.#span)) {
        const rate = this.#calls / (SPAN_MS / 1000)
        this.#factor = clampFactor(
          this.#factor * Math.max(0.5, Math.sqrt(rate / TARGET_CALLS_PER_S)),
        )
        this.#factor = clampFactor(this.#factor * 0.5 ** Math.min(span - this.#span - 1, 8))
      }
      this.#span = span
      this.#calls = 0
    }
    this.#calls++
    return paceFor(this.#factor)
  }
}
