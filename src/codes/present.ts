/** How a code and a scan look in the API. */
import type { z } from '@hono/zod-openapi'
import type { Code, Scan } from '../db/schema'
import { qrContent } from '../lib/urls'
import type { Payability } from '../money/payment-mode'
import type { CodeObject, ScanObject } from './schemas'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** `payee`: whether the merchant can be paid now (money/payment-mode.ts), for checkout codes. */
export function presentCode(
  code: Code,
  base: string,
  payee: Payability,
): z.infer<typeof CodeObject> {
  const checkout = code.action === 'checkout'
  return {
    id: code.id,
    object: 'code',
    slug: code.slug,
    url: `${base}/${code.slug}`,
    qr_svg_url: `${base}/qr/${code.slug}.svg`,
    qr_content: qrContent(code, base),
    mode: code.mode,
    action: code.action,
    status: code.status,
    destination_url: code.destinationUrl,
    allow_http: code.allowHttp,
    currency: code.currency,
    amount: code.amount,
    amount_min: code.amountMin,
    amount_max: code.amountMax,
    description: code.description,
    max_payments: code.maxPayments,
    payable: checkout ? payee.payable : null,
    payable_reason: checkout && !payee.payable ? payee.reason : null,
    expires_at: iso(code.expiresAt),
    metadata: code.metadata,
    reference: code.reference,
    version: code.version,
    created_at: new Date(code.createdAt).toISOString(),
    updated_at: new Date(code.updatedAt).toISOString(),
  }
}

export function presentScan(scan: Scan): z.infer<typeof ScanObject> {
  return {
    id: scan.id,
    object: 'scan',
    code_id: scan.codeId,
    scanned_at: new Date(scan.scannedAt).toISOString(),
    method: scan.method,
    is_bot: scan.isBot,
    device: scan.device,
    browser: scan.browser,
    os: scan.os,
    country: scan.country,
    region: scan.region,
    city: scan.city,
    colo: scan.colo,
    referrer_host: scan.referrerHost,
  }
}
