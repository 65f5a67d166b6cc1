/** How the hub paces its flushes to D1 (plain numbers: the bench reads them too). */

/**
 * A flush is sealed once it holds this many scans (batches are never split, so up to one batch
 * more: at most 749 scans, under 400 KB of JSON, with the biggest batches of pace.ts).
 */
export const FLUSH_MAX_SCANS = 500
/** Scans wait this long in the hub before a flush, so one flush carries many. */
export const FLUSH_DELAY_MS = 2_000
