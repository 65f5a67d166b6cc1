/**
 * Recording a scan: everything here runs after the answer has gone out (inside `waitUntil`), and
 * is imported lazily so a cold scan does not even parse it. `recordScan` is the single entry point:
 * it builds the event and hands it to the code's hub through the per-isolate batcher; the promise
 * settles once the hub has stored it durably.
 */
import type { Bindings } from '../env'
import { sendScan } from '../hub/batcher'
import type { HubScan } from '../hub/types'
import { sequentialId } from '../lib/ids'
import { classifyClient } from './classify'
import { visitorHash } from './visitor'

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

export function buildScan(input: ScanInput, secret: string | undefined): HubScan {
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
    visitorHash: visitorHash(secret, input.at, input.ip, input.userAgent),
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

/** Resolves once the code's hub has stored the scan (or the batch failed twice and was logged). */
export async function recordScan(env: Bindings, input: ScanInput): Promise<void> {
  await sendScan(env, buildScan(input, env.VISITOR_HASH_SECRET))
}
