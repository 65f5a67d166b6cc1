/**
 * Recording a scan, imported on an isolate's first scan (not at startup). `recordScan` is the
 * single entry point: it builds the event (synchronous, no I/O: a few microseconds) and queues it
 * in the per-isolate batcher, with what its visitor hash is made of (hashed when the batch is
 * sent); the call to the code's hub happens later, in `waitUntil`, so the answer never waits
 * for it.
 */
import type { Bindings } from '../env'
import type { HubScan } from '../hub/types'
import { sequentialId } from '../lib/ids'
import { sendScan } from './batcher'
import { classifyClient } from './classify'

/** What the scan path copies out of the request before answering; plain data only. */
export interface ScanInput {
  codeId: string
  merchantId: string
  at: number
  method: 'GET' | 'HEAD'
  userAgent: string | null
  referrer: string | null
  ip: string | null
  cf: { country?: string; region?: string; city?: string; colo?: string } | undefined
  /** The answer was the checkout page of an active checkout code. */
  checkoutShown: boolean
  /** The path carried the QR's spelling of the slug (see `cameFromQr`). */
  viaQr: boolean
}

/** The scan as its hub stores it; its visitor hash is filled in when its batch is sent. */
export function buildScan(input: ScanInput): HubScan {
  const client = classifyClient(input.userAgent)
  // A HEAD is a machine checking the link, never a person scanning.
  const isBot = client.isBot || input.method === 'HEAD'
  return {
    id: sequentialId('scan'),
    codeId: input.codeId,
    merchantId: input.merchantId,
    scannedAt: input.at,
    method: input.method,
    isBot,
    device: input.method === 'HEAD' && !client.isBot ? 'unknown' : client.device,
    browser: client.browser,
    os: client.os,
    country: input.cf?.country ?? null,
    region: input.cf?.region ?? null,
    city: input.cf?.city ?? null,
    colo: input.cf?.colo ?? null,
    referrerHost: referrerHost(input.referrer),
    visitorHash: null,
    checkoutView: input.checkoutShown && !isBot,
    viaQr: input.viaQr,
  }
}

function referrerHost(referrer: string | null): string | null {
  if (!referrer) return null
  try {
    return new URL(referrer).host.slice(0, 255) || null
  } catch {
    return null
  }
}

/**
 * Queues the scan for its code's hub. Returns the delivery the caller's request must keep alive
 * (`waitUntil`), or undefined when another request already keeps the scan's batch alive.
 */
export function recordScan(env: Bindings, input: ScanInput): Promise<void> | undefined {
  const visitor = { secret: env.VISITOR_HASH_SECRET, ip: input.ip, userAgent: input.userAgent }
  const queued = sendScan(env, buildScan(input), visitor)
  return queued.keepAlive ? queued.delivered : undefined
}
