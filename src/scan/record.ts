/**
 * Recording a scan: everything here runs after the answer has gone out (inside `waitUntil`), and
 * is imported lazily so a cold scan does not even parse it. `recordScan` is the single entry point;
 * the real-time issue moves the storing into the code's Durable Object behind it.
 */
import { createDb } from '../db/client'
import { type NewScan, scans } from '../db/schema'
import type { Bindings } from '../env'
import { newId } from '../lib/ids'
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
}

export async function buildScan(input: ScanInput, secret: string | undefined): Promise<NewScan> {
  const client = classifyClient(input.userAgent)
  return {
    id: newId('scan'),
    codeId: input.codeId,
    merchantId: input.merchantId,
    scannedAt: input.at,
    method: input.method,
    // A HEAD is a machine checking the link, never a person scanning.
    isBot: client.isBot || input.method === 'HEAD',
    device: input.method === 'HEAD' && !client.isBot ? 'unknown' : client.device,
    browser: client.browser,
    os: client.os,
    country: input.cf?.country ?? null,
    region: input.cf?.region ?? null,
    city: input.cf?.city ?? null,
    colo: input.cf?.colo ?? null,
    referrerHost: referrerHost(input.referrer),
    visitorHash: await visitorHash(secret, input.at, input.ip, input.userAgent),
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

export async function recordScan(env: Bindings, input: ScanInput): Promise<void> {
  const scan = await buildScan(input, env.VISITOR_HASH_SECRET)
  await createDb(env.DB).insert(scans).values(scan).onConflictDoNothing()
}
