/** Public URLs we print into QR codes and hand to integrators. */
import type { Bindings } from '../env'

/** PUBLIC_BASE_URL when configured (production), otherwise the request's own origin. */
export function publicBase(env: Bindings, requestUrl: string): string {
  const configured = env.PUBLIC_BASE_URL?.trim()
  return (configured ? configured : new URL(requestUrl).origin).replace(/\/+$/, '')
}

export interface QrSubject {
  slug: string
  mode: 'dynamic' | 'static'
  action: 'redirect' | 'checkout'
  destinationUrl: string | null
}

/**
 * What the QR symbol holds: our short URL, except a static redirect code, which holds its
 * destination itself (and so works without us, but can never change or be counted). The slug is
 * written in capitals: slugs are case-insensitive, so it opens the same code, and a scan whose
 * path arrives in capitals came from the printed symbol (`cameFromQr`) rather than a typed or
 * shared link — a marker that adds no character to the symbol.
 */
export function qrContent(code: QrSubject, base: string): string {
  if (code.mode === 'static' && code.action === 'redirect' && code.destinationUrl) {
    return code.destinationUrl
  }
  return `${base}/${code.slug.toUpperCase()}`
}

/** Whether the slug as requested is the QR's spelling: it has letters, all of them capitals. */
export function cameFromQr(requestedSlug: string): boolean {
  return (
    requestedSlug !== requestedSlug.toLowerCase() && requestedSlug === requestedSlug.toUpperCase()
  )
}
