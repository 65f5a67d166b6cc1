/**
 * Backpressure from a code's hub to the isolates that batch scans for it.
 *
 * Each isolate sends a code's scans in batches (batcher.ts): one call per window or per full
 * batch. Isolates do not know about each other, so when a code is scanned in many places at once
 * (a code on TV), the calls to its one hub add up: a Durable Object takes on the order of 1,000 a
 * second. The hub therefore counts the calls it gets and answers each with the pace it wants:
 * a longer window and bigger batches while it gets more than TARGET_CALLS_PER_S. The isolates use
 * the latest pace for that code's next batches, so the hub's call rate settles near the target
 * however many isolates send, at the price of the live feed's scans arriving a little later.
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

/** The pace for a slow-down factor (1 = the default pace). */
export function paceFor(factor: number): Pace {
  const f = Math.min(MAX_FACTOR, Math.max(1, factor))
  return {
    windowMs: Math.round(DEFAULT_PACE.windowMs * f),
    maxScans: Math.min(SLOWEST_PACE.maxScans, Math.round(DEFAULT_PACE.maxScans * f)),
  }
}

/**
 * A hub's side: counts calls per wall-clock second and, at each new second, moves its factor by
 * the square root of (last second's calls / target). The square root damps the loop (the isolates
 * apply a new pace one batch later), and a quiet second at most halves the factor, so a burst
 * that paused for a moment does not find the default pace again at once.
 */
export class Pacer {
  #second = Number.NEGATIVE_INFINITY
  #calls = 0
  #factor = 1

  /** Counts one call at `now` (epoch ms) and returns the pace to ask of the caller. */
  call(now: number): Pace {
    const second = Math.floor(now / 1000)
    if (second > this.#second) {
      const rate = second === this.#second + 1 ? this.#calls : 0
      const step = Math.max(0.5, Math.sqrt(rate / TARGET_CALLS_PER_S))
      this.#factor = Math.min(MAX_FACTOR, Math.max(1, this.#factor * step))
      this.#second = second
      this.#calls = 0
    }
    this.#calls++
    return paceFor(this.#factor)
  }
}
