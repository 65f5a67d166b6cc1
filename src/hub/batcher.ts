/**
 * Per-isolate micro-batching of scans: scans for the same code that arrive within
 * BATCH_WINDOW_MS (or BATCH_MAX of them) go to its hub in one RPC, which turns a flood on one
 * code into a trickle of calls. `sendScan` returns the promise of the batch that carries the scan;
 * the scan path hands it to `ctx.waitUntil`, so the runtime keeps the isolate alive until the hub
 * has stored the scan.
 *
 * A batch is sent from whichever request fills it or whose timer fires; the others wait on the
 * same promise. The stub is created at send time, in the sending request (stubs must not be shared
 * across requests). A failed call is retried once (the hub ignores scan ids it already has); then
 * the whole batch is logged as JSON, so the scans can be replayed from the logs, and the promise
 * still resolves: `waitUntil` never rejects.
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

export function sendScan(env: HubEnv, scan: HubScan): Promise<void> {
  let batch = open.get(scan.codeId)
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
  if (batch.scans.length >= BATCH_MAX) send(env, batch)
  return batch.done
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
