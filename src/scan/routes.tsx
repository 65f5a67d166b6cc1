/**
 * The hot path: `GET /{slug}`. Resolve from cache, answer, and hand the scan to `recordScan`
 * inside `waitUntil` so the customer never waits for it (it goes to the code's hub, batched per
 * isolate). Nothing heavy is imported here, and a warm scan makes no storage call before answering.
 */
import { Hono } from 'hono'
import { CheckoutPage, customerLocale, unavailable } from '../checkout/page'
import { createDb } from '../db/client'
import type { AppEnv } from '../env'
import { cameFromQr } from '../lib/urls'
import { StatusPage } from '../pages/layout'
import { isTestMode } from '../payments/mode'
import type { ScanInput } from './record'
import { resolveCode } from './resolve'

export const SLUG_PATTERN = '[A-Za-z0-9_-]{3,64}'

export const scanRoutes = new Hono<AppEnv>()

const noStore = { 'cache-control': 'no-store', 'x-robots-tag': 'noindex' }

scanRoutes.on(['GET', 'HEAD'], `/:slug{${SLUG_PATTERN}}`, async (c) => {
  const slug = c.req.param('slug').toLowerCase()
  const code = await resolveCode(slug, {
    db: () => createDb(c.env.DB),
    origin: new URL(c.req.url).origin,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
  })
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
  const input: ScanInput = {
    codeId: code.id,
    merchantId: code.merchantId,
    at,
    method: c.req.method === 'HEAD' ? 'HEAD' : 'GET',
    userAgent: c.req.header('user-agent') ?? null,
    referrer: c.req.header('referer') ?? null,
    ip: c.req.header('cf-connecting-ip') ?? null,
    cf: c.req.raw.cf as ScanInput['cf'],
    viaQr: cameFromQr(c.req.param('slug')),
    // A person was shown the pay button: the funnel's second step.
    checkoutShown: closed === null && code.action === 'checkout',
  }
  c.executionCtx.waitUntil(
    import('./record')
      .then(({ recordScan }) => recordScan(c.env, input))
      .catch((err) => console.error('scan not recorded', code.id, err)),
  )

  for (const [k, v] of Object.entries(noStore)) c.header(k, v)
  if (closed) return c.html(<StatusPage {...closed.page} />, closed.status)
  if (code.action === 'redirect' && code.destinationUrl) {
    return c.redirect(code.destinationUrl, 302)
  }
  return c.html(
    <CheckoutPage
      code={code}
      locale={customerLocale(c.req.header('accept-language'))}
      testMode={isTestMode(c.env)}
    />,
  )
})
