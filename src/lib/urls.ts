/** Public URLs we print into QR codes and hand to integrators. */
import { ApiError } from '../errors'
import { isProduction } from './environment'

/**
 * The origin every absolute link starts with: PUBLIC_BASE_URL when set, whatever `Host` the
 * request carried. Unset, a local run uses the request's own origin (zero configuration), but
 * production answers 503 `not_configured`: the request's origin comes from its `Host` header,
 * which anyone can send, and a link built from it could point a QR code, a Stripe return URL or an
 * integrator at another site.
 */
export function publicBase(
  env: { PUBLIC_BASE_URL?: string; ENVIRONMENT?: string },
  requestUrl: string,
): string {
  const configured = env.PUBLIC_BASE_URL?.trim().replace(/\/+$/, '')
  if (configured) return configured
  if (isProduction(env)) {
    throw new ApiError(
      503,
      'not_configured',
      'Links cannot be built: this deployment has no PUBLIC_BASE_URL set.',
    )
  }
  return new URL(requestUrl).origin
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
