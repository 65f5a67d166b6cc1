/**
 * The hot path: `GET /{slug}`. Resolve from cache, answer, and hand the scan to `recordScan`
 * inside `waitUntil` so the customer never waits for it (it goes to the code's hub, batched per
 * isolate). Nothing heavy is imported here, and a warm scan makes no storage call before answering.
 */
import { Hono } from 'hono'
import { CheckoutPage, customerLocale } from '../checkout/page'
import { createDb } from '../db/client'
import type { AppEnv } from '../env'
import { StatusPage } from '../pages/layout'
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
  const gone = code.status === 'archived' || (code.expiresAt !== null && code.expiresAt <= at)
  const redirect = code.action === 'redirect' && code.destinationUrl !== null
  const input: ScanInput = {
    codeId: code.id,
    merchantId: code.merchantId,
    at,
    method: c.req.method === 'HEAD' ? 'HEAD' : 'GET',
    userAgent: c.req.header('user-agent') ?? null,
    referrer: c.req.header('referer') ?? null,
    ip: c.req.header('cf-connecting-ip') ?? null,
    cf: c.req.raw.cf as ScanInput['cf'],
    checkoutShown: !gone && code.status === 'active' && code.action === 'checkout',
  }
  c.executionCtx.waitUntil(
    import('./record')
      .then(({ recordScan }) => recordScan(c.env, input))
      .catch((err) => console.error('scan not recorded', code.id, err)),
  )

  for (const [k, v] of Object.entries(noStore)) c.header(k, v)
  if (gone) {
    return c.html(
      <StatusPage
        icon="⌛"
        title="This code has ended"
        message={`${code.merchantName} no longer uses this code. Ask them for a current one.`}
      />,
      410,
    )
  }
  if (code.status === 'paused') {
    // 503: the condition is temporary (the merchant can resume), and it tells caches and crawlers
    // not to keep this answer.
    return c.html(
      <StatusPage
        icon="⏸"
        title="This code is paused"
        message={`${code.merchantName} has paused this code for now. Please try again later or ask staff.`}
      />,
      503,
    )
  }
  if (redirect && code.destinationUrl) return c.redirect(code.destinationUrl, 302)
  return c.html(
    <CheckoutPage code={code} locale={customerLocale(c.req.header('accept-language'))} />,
  )
})
