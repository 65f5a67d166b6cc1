/**
 * The hot path: `GET /{slug}`. Resolve from cache, answer, and hand the scan to `recordScan`
 * inside `waitUntil` so the customer never waits for it (it goes to the code's hub, batched per
 * isolate). Nothing heavy is imported here, and a warm scan makes no storage call before answering.
 *
 * The commonest scan, an active redirect code whose entry is fresh in this isolate, is answered
 * by `warmRedirect` before any routing (the entry calls it first); every other scan goes through
 * the route below. Both record and redirect with the same functions.
 */
import { Hono } from 'hono'
import { CheckoutPage, customerLocale, unavailable } from '../checkout/page'
import type { ResolvedCode } from '../codes/queries'
import type { AppEnv, Bindings } from '../env'
import { cameFromQr } from '../lib/urls'
import { StatusPage } from '../pages/layout'
import { isTestMode } from '../payments/mode'
import type { ScanInput } from './record'
import { cachedCode, type ResolveContext, resolveCode } from './resolve'

export const SLUG_PATTERN = '[A-Za-z0-9_-]{3,64}'

/** What the scan path needs of the execution context. */
type Background = Pick<ExecutionContext, 'waitUntil'>

/** Scan recording, loaded on the first scan (not at startup): then called synchronously. */
let recorder: typeof import('./record') | undefined
let loading: Promise<typeof import('./record')> | undefined

/** Copies what recording needs out of the request, and records the scan after the answer. */
function recordAfter(
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
  const failed = (err: unknown) => console.error('scan not recorded', code.id, err)
  if (recorder) {
    try {
      const delivery = recorder.recordScan(env, input)
      if (delivery) ctx.waitUntil(delivery)
    } catch (err) {
      failed(err)
    }
    return
  }
  loading ??= import('./record').then((m) => {
    recorder = m
    return m
  })
  ctx.waitUntil(loading.then((m) => m.recordScan(env, input)).catch(failed))
}

/** Every answer to a scan: never cached (the code can change), never indexed. */
const NO_STORE = { 'cache-control': 'no-store', 'x-robots-tag': 'noindex' }

/** An active redirect code's answer: a bodiless 302. */
function redirectTo(url: string): Response {
  return new Response(null, { status: 302, headers: { location: url, ...NO_STORE } })
}

function resolveContext(url: string, env: Bindings, ctx: Background): ResolveContext {
  return {
    d1: env.DB,
    origin: url.slice(0, url.indexOf('/', url.indexOf('//') + 2)),
    waitUntil: (p) => ctx.waitUntil(p),
  }
}

/**
 * The warm scan of an active redirect code, answered before routing: from this isolate's fresh
 * entry, with no storage call and no await. (`url` is `request.url`, which the entry has read.)
 * The answer carries only what a bodiless redirect needs. Anything else (not cached, not a redirect, paused,
 * ended) is left to the route: undefined.
 */
export function warmRedirect(
  request: Request,
  url: string,
  env: Bindings,
  ctx: Background,
  slug: string,
): Response | undefined {
  const method = request.method
  if (method !== 'GET' && method !== 'HEAD') return undefined
  const code = cachedCode(slug.toLowerCase(), () => resolveContext(url, env, ctx))
  if (code?.action !== 'redirect' || !code.destinationUrl) return undefined
  const at = Date.now()
  if (unavailable(code, at)) return undefined
  recordAfter(request, env, ctx, { code, at, slug, checkoutShown: false })
  return redirectTo(code.destinationUrl)
}

export const scanRoutes = new Hono<AppEnv>()

scanRoutes.on(['GET', 'HEAD'], `/:slug{${SLUG_PATTERN}}`, async (c) => {
  const slug = c.req.param('slug')
  const code = await resolveCode(
    slug.toLowerCase(),
    resolveContext(c.req.url, c.env, c.executionCtx),
  )
  if (!code) {
    c.header('cache-control', 'no-store')
    return c.html(
      <StatusPage
        icon="🔍"
        title="This code does not exist"
        message="Check that you scanned the right code. If it is printed somewhere, the business may have replaced it."
      />,
      404,
    )
  }

  const at = Date.now()
  const closed = unavailable(code, at)
  recordAfter(c.req.raw, c.env, c.executionCtx, {
    code,
    at,
    slug,
    // A person was shown the pay button: the funnel's second step.
    checkoutShown: closed === null && code.action === 'checkout',
  })

  if (!closed && code.action === 'redirect' && code.destinationUrl) {
    return redirectTo(code.destinationUrl)
  }
  for (const [k, v] of Object.entries(NO_STORE)) c.header(k, v)
  if (closed) return c.html(<StatusPage {...closed.page} />, closed.status)
  return c.html(
    <CheckoutPage
      code={code}
      locale={customerLocale(c.req.header('accept-language'))}
      testMode={isTestMode(c.env)}
    />,
  )
})
