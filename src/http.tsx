/**
 * What every response path shares: the security headers of customer pages and the one error
 * path (problem+json for API-ish paths, a friendly page for people). Used by both the scan path's
 * small app (edge.tsx) and the full app (app.tsx), so every 4xx looks alike whichever answered.
 */
import type { Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { routePath } from 'hono/route'
import { secureHeaders } from 'hono/secure-headers'
import type { AppEnv } from './env'
import { ApiError, toApiError, toProblem } from './errors'
import { log } from './lib/log'
import { StatusPage, type StatusPageProps } from './pages/layout'

/** Customer pages: no script, our stylesheet only, and forms may post to us or Stripe Checkout. */
export const pageHeaders = secureHeaders({
  // Never framed: X-Frame-Options says what `frame-ancestors 'none'` says (secureHeaders' default,
  // SAMEORIGIN, would contradict it). So do the QR images' and the admin's headers.
  xFrameOptions: 'DENY',
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    formAction: ["'self'", 'https://checkout.stripe.com'],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: 'strict-origin-when-cross-origin',
})

/**
 * QR images: an SVG that loads nothing, and one merchants embed on their own sites (`<img>` from
 * another origin), so not `Cross-Origin-Resource-Policy: same-origin` like the pages.
 */
export const qrHeaders = secureHeaders({
  xFrameOptions: 'DENY',
  contentSecurityPolicy: { defaultSrc: ["'none'"] },
  crossOriginResourcePolicy: 'cross-origin',
})

/** API-ish paths (and the admin's one JSON endpoint) get problem+json; pages get a page. */
function wantsProblem(path: string): boolean {
  return (
    path.startsWith('/api/') ||
    path.startsWith('/qr/') ||
    path.startsWith('/webhooks/') ||
    path === '/openapi.json' ||
    (path.startsWith('/admin/') && path.endsWith('/live-token'))
  )
}

export function renderError(c: Context<AppEnv>, err: ApiError): Response | Promise<Response> {
  if (wantsProblem(c.req.path)) {
    const headers: Record<string, string> = {
      ...err.headers,
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
    }
    if (err.status === 401) headers['www-authenticate'] = 'Bearer realm="qrcheckout"'
    if (err.status === 429) headers['retry-after'] = '60'
    return new Response(JSON.stringify(toProblem(err, c.req.path)), { status: err.status, headers })
  }
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value)
  c.header('cache-control', 'no-store')
  const page: StatusPageProps =
    err.code === 'not_configured'
      ? { icon: 'warning', title: 'Not available', message: 'This site is not fully set up yet.' }
      : err.status >= 500
        ? {
            icon: 'warning',
            title: 'Something went wrong',
            message: 'Please try again in a moment.',
          }
        : err.status === 404
          ? {
              icon: 'search',
              title: 'Page not found',
              message: 'There is nothing at this address.',
            }
          : { icon: 'warning', title: err.title, message: err.message }
  return c.html(<StatusPage {...page} />, err.status)
}

/** Installs the one 404 and the one error handler. */
export function handleErrors(app: Hono<AppEnv>) {
  app.notFound((c) =>
    renderError(c, new ApiError(404, 'not_found', 'There is nothing at this address.')),
  )
  app.onError((err, c) => {
    const apiError = toApiError(err)
    if (apiError.status >= 500) {
      if (err instanceof ApiError) reportOnce(apiError, c.req.method, routePath(c))
      // The route, not the path: paths carry capabilities (receipt ids, sign-in tokens).
      else log.error('unhandled error', { method: c.req.method, route: routePath(c) }, err)
    }
    return renderError(c, apiError)
  })
}

/** Deliberate 5xx answers already logged by this isolate: `status code method route`. */
const reported = new Set<string>()
const REPORTED_MAX = 100

/**
 * A 5xx the code chose (`not_configured`, `temporarily_unavailable`) is logged once per isolate
 * for each route pattern (`/:slug`, not each slug), not once per request: anyone can send such
 * requests (a webhook without its secret configured), and each would otherwise write an error
 * line. Where a cause exists, the code that threw logs it.
 */
function reportOnce(err: ApiError, method: string, route: string) {
  const key = `${err.status} ${err.code} ${method} ${route}`
  if (reported.has(key)) return
  if (reported.size >= REPORTED_MAX) reported.clear()
  reported.add(key)
  log.warn('deliberate 5xx answered', {
    status: err.status,
    code: err.code,
    method,
    route,
    message: err.message,
    oncePerIsolate: true,
  })
}

/** Refuses request bodies over `maxSize` bytes with a 413, before they are read into memory. */
export function limitBody(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `Bodies are at most ${maxSize} bytes.`)
    },
  })
}

/** API bodies and the forms people submit (pay, sign-in, admin) are small documents. */
export const MAX_BODY_BYTES = 16 * 1024
