/**
 * `GET /{slug}` in the edge app: every scan the entry did not answer itself (see answer.ts) —
 * not found, paused, ended, the checkout page — and, should a code change between the two, a
 * redirect. It records the same way the entry does.
 */
import { Hono } from 'hono'
import { merchantNotReady } from '../checkout/not-payable'
import { CheckoutPage, customerLocale } from '../checkout/page'
import { unavailable } from '../codes/availability'
import { resolveCode } from '../codes/cache'
import type { AppEnv } from '../env'
import { SLUG_PATTERN } from '../lib/paths'
import { payability } from '../money/payment-mode'
import { StatusPage } from '../pages/layout'
import { isTestMode } from '../payments/mode'
import { NO_STORE, recordAfter, redirectTo, resolveContext } from './answer'

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
        icon="search"
        title="This code does not exist"
        message="Check that you scanned the right code. If it is printed somewhere, the business may have replaced it."
      />,
      404,
    )
  }

  const at = Date.now()
  const closed =
    unavailable(code, at) ??
    // A merchant that cannot be paid yet gets no pay button (D1's word, no Stripe call).
    (code.action === 'checkout' && !payability(c.env, code).payable
      ? merchantNotReady(code.merchantName, isTestMode(c.env))
      : null)
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
