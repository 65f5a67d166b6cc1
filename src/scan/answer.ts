/**
 * The scan path's entry (`GET /{slug}`), called by the Worker before any routing. An active
 * redirect code is answered here: from this isolate's fresh entry with no storage call and no
 * await (a warm scan), or after one lookup (a cold one). Every other outcome is a page (not
 * found, paused, ended, the checkout), rendered by the edge app, which is loaded only then:
 * startup and a redirect never pay for the pages, their styles or the router.
 *
 * Recording is the same for both: `recordAfter` copies what it needs out of the request and
 * queues the scan for the code's hub; the hub call happens in `waitUntil`, after the answer.
 */
import { unavailable } from '../codes/availability'
import { cachedCode, type ResolveContext, resolveCode } from '../codes/cache'
import type { ResolvedCode } from '../codes/queries'
import type { Bindings } from '../env'
import { lazy } from '../lib/lazy'
import { log } from '../lib/log'
import { originOf } from '../lib/paths'
import { cameFromQr } from '../lib/urls'
import type { ScanInput } from './record'

/** What the scan path needs of the execution context. */
type Background = Pick<ExecutionContext, 'waitUntil'>

/** Scan recording, loaded on the first scan (not at startup): then called synchronously. */
const recording = lazy(() => import('./record'))

/** Copies what recording needs out of the request, and records the scan after the answer. */
export function recordAfter(
  request: Request,
  env: Bindings,
  ctx: Background,
  scan: { code: ResolvedCode; at: number; slug: string; checkoutShown: boolean },
) {
  const { code, at, slug, checkoutShown } = scan
  const headers = request.headers
  const input: ScanInput = {
    codeId: code.id,
    merchantId: code.merchantId,
    at,
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    userAgent: headers.get('user-agent'),
    referrer: headers.get('referer'),
    ip: headers.get('cf-connecting-ip'),
    cf: request.cf as ScanInput['cf'],
    viaQr: cameFromQr(slug),
    checkoutShown,
  }
  const failed = (err: unknown) => log.error('scan not recorded', { codeId: code.id }, err)
  const recorder = recording.now()
  if (recorder) {
    try {
      const delivery = recorder.recordScan(env, input)
      if (delivery) ctx.waitUntil(delivery)
    } catch (err) {
      failed(err)
    }
    return
  }
  ctx.waitUntil(
    recording
      .get()
      .then((m) => m.recordScan(env, input))
      .catch(failed),
  )
}

/** Every answer to a scan: never cached (the code can change), never indexed. */
export const NO_STORE = { 'cache-control': 'no-store', 'x-robots-tag': 'noindex' }

/**
 * An active redirect code's answer: a bodiless 302, carrying only what a redirect needs — and HSTS
 * (the value `secureHeaders` gives the pages), since most of our answers are redirects.
 */
export function redirectTo(url: string): Response {
  return new Response(null, {
    status: 302,
    headers: {
      location: url,
      ...NO_STORE,
      'strict-transport-security': 'max-age=15552000; includeSubDomains',
    },
  })
}

/** `url` is the request's URL, which the caller has read already. */
export function resolveContext(url: string, env: Bindings, ctx: Background): ResolveContext {
  return {
    d1: env.DB,
    origin: originOf(url),
    waitUntil: (p) => ctx.waitUntil(p),
  }
}

/**
 * The answer to a scan of `slug` (as typed: its case tells a QR scan): the redirect when the code
 * is an active redirect code, else whatever `page()` answers. Synchronous on a warm scan.
 */
export function answerScan(
  request: Request,
  url: string,
  env: Bindings,
  ctx: Background,
  slug: string,
  page: () => Promise<Response>,
): Response | Promise<Response> {
  const method = request.method
  if (method !== 'GET' && method !== 'HEAD') return page()
  const redirect = (code: ResolvedCode | null) => {
    if (code?.action !== 'redirect' || !code.destinationUrl) return undefined
    const at = Date.now()
    if (unavailable(code, at)) return undefined
    recordAfter(request, env, ctx, { code, at, slug, checkoutShown: false })
    return redirectTo(code.destinationUrl)
  }
  const key = slug.toLowerCase()
  const warm = cachedCode(key, () => resolveContext(url, env, ctx))
  if (warm !== undefined) return redirect(warm) ?? page()
  // Cold: one lookup. If it fails (D1 down, nothing known), the page path answers it: a 503 page.
  return resolveCode(key, resolveContext(url, env, ctx)).then(
    (code) => redirect(code) ?? page(),
    () => page(),
  )
}
