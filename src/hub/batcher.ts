/**
 * Per-isolate micro-batching of scans: scans for the same code that arrive within
 * BATCH_WINDOW_MS (or BATCH_MAX of them) go to its hub in one RPC, which turns a flood on one
 * code into a trickle of calls.
 *
 * A batch is sent by the request that opened it (its timer) or by the one that filled it; each
 * of those two must keep its request alive (`ctx.waitUntil`) until the hub has stored the batch,
 * since the call runs in its context. Every other scan of the batch rides along: its request can
 * end with the response, and the batch is still delivered. (Keeping every scan's request alive
 * until delivery made the runtime carry hundreds of finished requests: it cost more CPU than all
 * the rest of recording.) The stub is created at send time, in the sending request (stubs must
 * not be shared across requests). A failed call is retried once (the hub ignores a batch it
 * already has); then the whole batch is logged as JSON, so the scans can be replayed from the
 * logs, and the delivery still resolves: `waitUntil` never rejects.
 */
import { type HubEnv, hubFor } from './client'
import type { HubScan } from './types'

export const BATCH_WINDOW_MS = 100
export const BATCH_MAX = 100

interface Batch {
  codeId: string
  scans: HubScan[]
  done: Promise<void>
  release: () => void
  timer: ReturnType<typeof setTimeout> | undefined
}

const open = new Map<string, Batch>()

export interface Queued {
  /** Settles once the hub has stored the scan's batch (or the batch was logged as lost). */
  delivered: Promise<void>
  /** This request opened or filled the batch and sends it: it must `waitUntil(delivered)`. */
  keepAlive: boolean
}

export function sendScan(env: HubEnv, scan: HubScan): Queued {
  let batch = open.get(scan.codeId)
  const opens = !batch
  if (!batch) {
    let release = () => {}
    const done = new Promise<void>((resolve) => {
      release = resolve
    })
    const created: Batch = { codeId: scan.codeId, scans: [], done, release, timer: undefined }
    created.timer = setTimeout(() => send(env, created), BATCH_WINDOW_MS)
    open.set(scan.codeId, created)
    batch = created
  }
  batch.scans.push(scan)
  const fills = batch.scans.length >= BATCH_MAX
  if (fills) send(env, batch)
  return { delivered: batch.done, keepAlive: opens || fills }
}

function send(env: HubEnv, batch: Batch) {
  if (open.get(batch.codeId) !== batch) return
  open.delete(batch.codeId)
  clearTimeout(batch.timer)
  deliver(env, batch).finally(batch.release)
}

async function deliver(env: HubEnv, batch: Batch) {
  try {
    await hubFor(env, batch.codeId).recordScans(batch.scans)
    return
  } catch (first) {
    try {
      await hubFor(env, batch.codeId).recordScans(batch.scans)
      return
    } catch (second) {
      console.error(
        `scans not stored: hub ${batch.codeId} failed twice for ${batch.scans.length} scans`,
        JSON.stringify(batch.scans),
        first,
        second,
      )
    }
  }
}

/** Test hook: how many batches are waiting to be sent in this isolate. */
export function openBatches(): number {
  return open.size
}
