/**
 * The code cache, slug → code: isolate LRU, then the Cache API (per location), then D1.
 * Every entry carries the time it was read from D1 and dies CODE_CACHE_TTL_MS after it, in both
 * layers, so an edit reaches every scanner worldwide within that bound.
 *
 * It lives with the codes because whatever changes a code drops its entry here (`forgetCode`):
 * the codes API, the admin, and payments when a sale sells a code out. The scan path and QR
 * images read through it (`resolveCode`).
 */

import { ApiError } from '../errors'
import { lazy } from '../lib/lazy'
import { log } from '../lib/log'
import { withTimeout } from '../lib/timeout'
import type { ResolvedCode } from './queries'

export const CODE_CACHE_TTL_MS = 5_000
/** How long a location keeps an entry as the fallback for a D1 outage. */
const LAST_KNOWN_MS = 24 * 3600 * 1000
export const ISOLATE_CACHE_MAX = 2_000
/**
 * Slugs known not to exist are kept apart, in a smaller LRU: a flood of random slugs churns this
 * one and never evicts the codes people scan.
 */
export const UNKNOWN_CACHE_MAX = 1_000

interface Entry {
  code: ResolvedCode | null
  /** When this value was read from D1. */
  readAt: number
  /**
   * Set when D1 failed to re-read a stale entry: this isolate serves it without trying D1 again
   * until then, so an outage costs one failed read per slug per OUTAGE_RETRY_MS, not one per scan.
   */
  retryAt?: number
}

/** How long after a failed read an isolate waits before asking D1 for that slug again. */
export const OUTAGE_RETRY_MS = 2_000

const isolate = new Map<string, Entry>()
const unknown = new Map<string, Entry>()

const known = (slug: string): Entry | undefined => isolate.get(slug) ?? unknown.get(slug)

function drop(slug: string) {
  isolate.delete(slug)
  unknown.delete(slug)
}

/** The Cache API key of a slug's entry in this location (exported for tests). */
export function cacheKey(origin: string, slug: string): string {
  return `${origin}/__cache/code/${encodeURIComponent(slug)}`
}

function fresh(entry: Entry, now: number): boolean {
  return now - entry.readAt < CODE_CACHE_TTL_MS || (entry.retryAt ?? 0) > now
}

/**
 * When this isolate last dropped a slug after an edit (`forgetCode`): an entry read before then,
 * by a read or a Cache API lookup already in flight, is not kept, so the edit never un-shows here.
 */
const editedAt = new Map<string, number>()
const EDITED_MAX = 1_000

const readBeforeEdit = (slug: string, readAt: number) => readAt < (editedAt.get(slug) ?? 0)

function remember(slug: string, entry: Entry) {
  if (readBeforeEdit(slug, entry.readAt)) return
  drop(slug)
  const [layer, max] = entry.code ? [isolate, ISOLATE_CACHE_MAX] : [unknown, UNKNOWN_CACHE_MAX]
  layer.set(slug, entry)
  if (layer.size > max) {
    const oldest = layer.keys().next().value
    if (oldest !== undefined) layer.delete(oldest)
  }
}

export interface ResolveContext {
  /** Read only on a miss; the query code (drizzle) is imported then, not at startup. */
  d1: D1Database
  origin: string
  waitUntil: (p: Promise<unknown>) => void
}

/**
 * A busy code's entry is re-read in the background once it is this old, so a code scanned at
 * least every CODE_CACHE_TTL_MS − REFRESH_AHEAD_MS (2 s) never makes a scan wait; a scan after a
 * longer gap may find the entry expired and read first. Slugs that do not exist are not re-read
 * ahead: their next read waits for the entry to expire, so one costs D1 at most one read per
 * location per CODE_CACHE_TTL_MS, and a 404 may wait.
 */
export const REFRESH_AHEAD_MS = 3_000
/** Slugs being re-read in the background (a read gives up after READ_TIMEOUT_MS). */
const refreshing = new Set<string>()

/**
 * The code from this isolate's entry while it is fresh (null: known not to exist), else
 * undefined. Synchronous: no storage call. A busy entry is re-read in the background.
 */
export function cachedCode(
  slug: string,
  context: () => ResolveContext,
): ResolvedCode | null | undefined {
  const now = Date.now()
  const hit = known(slug)
  if (!hit || !fresh(hit, now)) return undefined
  if (
    hit.code &&
    now - hit.readAt >= REFRESH_AHEAD_MS &&
    (hit.retryAt ?? 0) <= now &&
    !refreshing.has(slug)
  ) {
    refreshing.add(slug)
    const ctx = context()
    // Started on the next turn, after this response is on its way: a scan never issues it.
    const later = new Promise((resolve) => setTimeout(resolve, 0))
    ctx.waitUntil(
      later
        .then(() => refresh(slug, hit.readAt, ctx))
        .catch((err) => log.error('code refresh failed; the cached entry stays', { slug }, err))
        .finally(() => refreshing.delete(slug)),
    )
  }
  return hit.code
}

/**
 * The background re-read: an entry another isolate of this location read from D1 since `readAt`,
 * and not yet due for its own re-read, is taken from the Cache API (it keeps its `readAt`, so the
 * edit bound holds); else D1. So a location's isolates share about one re-read per code.
 */
async function refresh(slug: string, readAt: number, ctx: ResolveContext): Promise<unknown> {
  const entry = await cachedEntry(slug, ctx)
  // Newer than what this isolate holds now, which may itself have changed meanwhile.
  const newest = Math.max(readAt, known(slug)?.readAt ?? 0)
  if (entry && entry.readAt > newest && Date.now() - entry.readAt < REFRESH_AHEAD_MS) {
    remember(slug, { code: entry.code, readAt: entry.readAt })
    return entry.code
  }
  return readOnce(slug, ctx)
}

/** This location's Cache API entry for a slug, whatever its age; an unreadable one is none. */
async function cachedEntry(slug: string, ctx: ResolveContext): Promise<Entry | undefined> {
  const cached = await caches.default.match(cacheKey(ctx.origin, slug)).catch(() => undefined)
  return cached ? await (cached.json() as Promise<Entry>).catch(() => undefined) : undefined
}

/** The code behind a slug, or null. Money is never taken from here: the pay path re-reads D1. */
export async function resolveCode(slug: string, ctx: ResolveContext): Promise<ResolvedCode | null> {
  const warm = cachedCode(slug, () => ctx)
  if (warm !== undefined) return warm
  const now = Date.now()

  // The newest entry known, however old: what a scan gets if D1 cannot answer right now.
  let lastKnown: Entry | undefined = known(slug)
  const entry = await cachedEntry(slug, ctx)
  if (entry && !readBeforeEdit(slug, entry.readAt)) {
    if (now - entry.readAt < CODE_CACHE_TTL_MS) {
      remember(slug, { code: entry.code, readAt: entry.readAt })
      return entry.code
    }
    if (!lastKnown || entry.readAt > lastKnown.readAt) lastKnown = entry
  }
  try {
    return await readOnce(slug, ctx)
  } catch (err) {
    // D1 down: redirects keep working from the last known entry (past the 5 s bound, logged);
    // with nothing known, an honest 503 rather than a crash. Scans are still recorded by the hub.
    if (lastKnown) {
      log.error('D1 unavailable; answering from the last known entry', { slug }, err)
      remember(slug, {
        code: lastKnown.code,
        readAt: lastKnown.readAt,
        // From now, not from the scan's start: a read that timed out took READ_TIMEOUT_MS.
        retryAt: Date.now() + OUTAGE_RETRY_MS,
      })
      return lastKnown.code
    }
    log.error('D1 unavailable; nothing known of this code', { slug }, err)
    throw new ApiError(503, 'temporarily_unavailable', 'This code cannot be looked up right now.')
  }
}

/** The query code (drizzle), loaded on the first miss rather than at startup. */
const queries = lazy(() => Promise.all([import('./queries'), import('../db/client')]))

/** Reads in flight per slug: concurrent misses of one slug share one D1 read. */
const reading = new Map<string, Promise<ResolvedCode | null>>()
/** A read not answered by then counts as failed (the outage path answers), and is not shared on. */
export const READ_TIMEOUT_MS = 5_000

function readOnce(slug: string, ctx: ResolveContext): Promise<ResolvedCode | null> {
  let read = reading.get(slug)
  if (!read) {
    read = withTimeout(
      readThrough(slug, ctx),
      READ_TIMEOUT_MS,
      `D1 did not answer for /${slug} within ${READ_TIMEOUT_MS} ms`,
    ).finally(() => reading.delete(slug))
    reading.set(slug, read)
  }
  return read
}

/** One D1 read, remembered in this isolate and (off the response path) in this location's cache. */
async function readThrough(slug: string, ctx: ResolveContext): Promise<ResolvedCode | null> {
  const [{ findCodeBySlug }, { createDb }] = await queries.get()
  const readAt = Date.now()
  const code = (await findCodeBySlug(createDb(ctx.d1), slug)) ?? null
  const entry: Entry = { code, readAt }
  // A read that outlived its timeout must not replace what a newer read stored meanwhile.
  const current = known(slug)
  if ((current && current.readAt > readAt) || readBeforeEdit(slug, readAt)) return code
  remember(slug, entry)
  const response = new Response(JSON.stringify(entry), {
    headers: {
      'content-type': 'application/json',
      // Kept a day as a fallback for a D1 outage; served normally only while `readAt` is fresh.
      'cache-control': `max-age=${LAST_KNOWN_MS / 1000}`,
    },
  })
  ctx.waitUntil(caches.default.put(cacheKey(ctx.origin, slug), response).catch(() => {}))
  return code
}

/** Drops a slug from this isolate and this location after an edit (others expire within the TTL). */
export async function forgetCode(slug: string, origin: string): Promise<void> {
  editedAt.delete(slug) // re-inserted last, so the cap drops the slugs edited longest ago
  editedAt.set(slug, Date.now())
  if (editedAt.size > EDITED_MAX) editedAt.delete(editedAt.keys().next().value as string)
  drop(slug)
  await caches.default.delete(cacheKey(origin, slug)).catch(() => false)
}

/** Test hook: empties the isolate layer. */
export function clearIsolateCache() {
  isolate.clear()
  unknown.clear()
  editedAt.clear()
}
