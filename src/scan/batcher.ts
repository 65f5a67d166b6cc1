/**
 * Per-isolate micro-batching of scans, the last step of recording one in the Worker (record.ts):
 * scans for the same code that arrive within the code's window (or that many of them) go to its
 * hub in one RPC, which turns a flood on one code into a trickle of calls. The window and batch
 * size are the hub's to set (hub/pace.ts): 100 ms and 100 scans by default, longer and bigger
 * while the hub gets more calls than it wants.
 *
 * A batch is sent by the request that opened it (its timer) or by the one that filled it; each
 * of those two must keep its request alive (`ctx.waitUntil`) until the hub has stored the batch,
 * since the call runs in its context. Every other scan of the batch rides along: its request can
 * end with the response, and the batch is still delivered. (Keeping every scan's request alive
 * until delivery made the runtime carry hundreds of finished requests: it cost more CPU than all
 * the rest of recording.) The stub is created at send time, in the sending request (stubs must
 * not be shared across requests). A failed call is tried again after a jittered backoff, up to
 * SEND_ATTEMPTS times in all (the hub ignores a batch it already has). A call refused because the
 * hub is overloaded slows this isolate's batches for that code to the slowest pace, and is tried
 * once more only, after the slowest window (retrying at once would add to the overload). After
 * the last attempt the whole batch is logged as JSON, so the scans can be replayed from the logs,
 * and the delivery still resolves: `waitUntil` never rejects.
 */
import { type HubEnv, hubFor } from '../hub/client'
import { DEFAULT_PACE, type Pace, SLOWEST_PACE } from '../hub/pace'
import type { HubScan } from '../hub/types'
import { log } from '../lib/log'
import { type VisitorInput, visitorHash } from './visitor'

/** Tries per batch, and the wait before each try after the first (jittered ×0.5–1.5). */
export const SEND_ATTEMPTS = 3
export const RETRY_DELAYS_MS = [250, 1_000] as const
/** A pace the hub asked for holds this long after its last answer, then the default is back. */
export const PACE_TTL_MS = 10_000
/** Codes whose pace is remembered (the hot ones); the oldest is forgotten beyond this. */
const PACES_MAX = 1_000

interface Batch {
  codeId: string
  scans: HubScan[]
  /** What each scan's visitor hash is made of, hashed as the batch leaves (`hashVisitors`). */
  visitors: (VisitorInput | undefined)[]
  maxScans: number
  done: Promise<void>
  release: () => void
  timer: ReturnType<typeof setTimeout> | undefined
}

const open = new Map<string, Batch>()
const paces = new Map<string, { pace: Pace; until: number; overloaded: boolean }>()

export interface Queued {
  /** Settles once the hub has stored the scan's batch (or the batch was logged as lost). */
  delivered: Promise<void>
  /** This request opened or filled the batch and sends it: it must `waitUntil(delivered)`. */
  keepAlive: boolean
}

export function sendScan(env: HubEnv, scan: HubScan, visitor?: VisitorInput): Queued {
  let batch = open.get(scan.codeId)
  const opens = !batch
  if (!batch) {
    const pace = paceOf(scan.codeId, Date.now())
    let release = () => {}
    const done = new Promise<void>((resolve) => {
      release = resolve
    })
    const created: Batch = {
      codeId: scan.codeId,
      scans: [],
      visitors: [],
      maxScans: pace.maxScans,
      done,
      release,
      timer: undefined,
    }
    created.timer = setTimeout(() => send(env, created), pace.windowMs)
    open.set(scan.codeId, created)
    batch = created
  }
  batch.scans.push(scan)
  batch.visitors.push(visitor)
  const fills = batch.scans.length >= batch.maxScans
  if (fills) send(env, batch)
  return { delivered: batch.done, keepAlive: opens || fills }
}

/** The pace this isolate batches a code's scans at: the hub's latest request, while it holds. */
export function paceOf(codeId: string, now: number): Pace {
  const known = paces.get(codeId)
  if (known && known.until > now) return known.pace
  paces.delete(codeId)
  return DEFAULT_PACE
}

/**
 * Remembers the pace for a code's next batches: the hub's answer, or after an overload
 * (`overloaded`) the slowest pace, which then holds for PACE_TTL_MS whatever other batches'
 * answers say meanwhile.
 */
function setPace(codeId: string, pace: Pace | undefined, now: number, overloaded = false) {
  const known = paces.get(codeId)
  if (!overloaded && known?.overloaded && known.until > now) return
  paces.delete(codeId)
  if (!pace || (pace.windowMs <= DEFAULT_PACE.windowMs && pace.maxScans <= DEFAULT_PACE.maxScans))
    return
  if (paces.size >= PACES_MAX) paces.delete(paces.keys().next().value as string)
  paces.set(codeId, { pace, until: now + PACE_TTL_MS, overloaded })
}

function send(env: HubEnv, batch: Batch) {
  if (open.get(batch.codeId) !== batch) return
  open.delete(batch.codeId)
  clearTimeout(batch.timer)
  hashVisitors(batch)
  deliver(env, batch).finally(batch.release)
}

/**
 * Fills in the batch's visitor hashes, all in one loop as it leaves: measured in `npm run
 * bench:profile`, that costs ~16 µs less CPU per scan than hashing each scan in its own request
 * (the same HMAC code runs several times slower when each request calls it once). The raw IP
 * and user agent stay in this isolate's memory until then (the batch window: 100 ms, 2 s at the
 * slowest pace) and never leave it; a scan whose hash fails is stored without one.
 */
function hashVisitors(batch: Batch) {
  for (let i = 0; i < batch.scans.length; i++) {
    const scan = batch.scans[i] as HubScan
    const visitor = batch.visitors[i]
    if (!visitor) continue
    try {
      scan.visitorHash = visitorHash(visitor.secret, scan.scannedAt, visitor.ip, visitor.userAgent)
    } catch (err) {
      log.error('visitor hash not computed', { codeId: batch.codeId, scanId: scan.id }, err)
    }
  }
  batch.visitors = []
}

async function deliver(env: HubEnv, batch: Batch) {
  const errors: unknown[] = []
  let overloaded = false
  for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
    // An overloaded hub gets one more try only, after the slowest window rather than at once.
    const delay =
      attempt === 0 ? 0 : overloaded ? SLOWEST_PACE.windowMs : RETRY_DELAYS_MS[attempt - 1]
    if (delay) await sleep(delay * (0.5 + Math.random()))
    try {
      const answer = await hubFor(env, batch.codeId).recordScans(batch.scans)
      setPace(batch.codeId, answer.pace, Date.now())
      return
    } catch (err) {
      errors.push(err)
      // Cloudflare marks a call refused by an overloaded object: slow this code down at once.
      if ((err as { overloaded?: boolean } | null)?.overloaded) {
        if (overloaded) break
        overloaded = true
        setPace(batch.codeId, SLOWEST_PACE, Date.now(), true)
      }
    }
  }
  // The scans themselves, so they can be replayed by hand; the last error, and what the others said.
  log.error(
    'scans not stored',
    {
      codeId: batch.codeId,
      attempts: errors.length,
      count: batch.scans.length,
      scans: batch.scans,
      earlierErrors: errors.slice(0, -1).map(String),
    },
    errors.at(-1),
  )
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Test hook: how many batches are waiting to be sent in this isolate. */
export function openBatches(): number {
  return open.size
}
