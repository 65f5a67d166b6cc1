/**
 * Paying: `POST /{slug}/pay` → a pending payment → the provider's hosted checkout (303), started by
 * `startPayment`; this route only reads the request and answers with a page. The pages after the
 * provider are in after-pay.tsx, the test-mode provider's own checkout in test-mode.tsx. Nothing
 * here ever marks a payment paid except the provider's verified event.
 */
import { Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { unavailable } from '../codes/availability'
import { findCodeBySlug } from '../codes/queries'
import type { AppEnv } from '../env'
import { limitBody, MAX_BODY_BYTES } from '../http'
import { clientKey } from '../lib/client-address'
import { csrfGuard } from '../lib/csrf'
import { SLUG_PATTERN } from '../lib/paths'
import type { StatusPageProps } from '../pages/layout'
import { paymentContext } from '../payments/context'
import { isTestMode } from '../payments/mode'
import {
  asCheckoutCode,
  type CheckoutCode,
  type PayForm,
  type PaymentStart,
  SESSION_TTL_MS,
  startPayment,
} from '../payments/start'
import { afterPayRoutes } from './after-pay'
import { merchantNotReady } from './not-payable'
import { CheckoutPage, customerLocale } from './page'
import { codeSlug, notFoundPage, statusPage } from './respond'
import { testModeRoutes } from './test-mode'
import { testModeDisputeRoutes } from './test-mode-disputes'

export const checkoutRoutes = new Hono<AppEnv>()

checkoutRoutes.use('*', async (c, next) => {
  await next()
  c.header('cache-control', 'no-store')
})

/**
 * The customer's latest payment (its id), so pressing pay again on a limited code — after the
 * browser's Back button, say — closes their own open checkout and takes over its slot instead of
 * being told "someone is paying right now" for half an hour.
 */
const PAY_COOKIE = 'qrc_pay'

/** The pay form as the checkout page sends it (page.tsx). */
function readPayForm(body: Record<string, unknown>, acceptLanguage: string | undefined): PayForm {
  return {
    price: typeof body.price === 'string' ? body.price : undefined,
    amount: typeof body.amount === 'string' ? body.amount.slice(0, 40) : '',
    // The locale the page was shown in, which the amount typed follows; else the browser's.
    locale: customerLocale(
      typeof body.locale === 'string' && body.locale ? body.locale.slice(0, 100) : acceptLanguage,
    ),
  }
}

type NotStarted = Extract<PaymentStart, { kind: 'refused' | 'unavailable' }>['reason']

/** Why no checkout opened, as the customer's page. Each says nothing was charged. */
const NOT_STARTED: Record<
  NotStarted,
  (code: CheckoutCode) => { status: 409 | 410 | 429 | 502 | 503; page: StatusPageProps }
> = {
  sold_out: (code) => ({
    status: 410,
    page: {
      icon: 'check',
      title: code.maxPayments === 1 ? 'This has already been paid' : 'Sold out',
      message: `${code.merchantName} has received all the payments this code allows. Nothing was charged.`,
    },
  }),
  busy: (code) => ({
    status: 409,
    page: {
      icon: 'hourglass',
      title: 'Someone is paying right now',
      message:
        'This code takes a limited number of payments and one is in progress. If it is not completed, you can pay in a few minutes. Nothing was charged.',
      action: { href: `/${code.slug}`, label: 'Try again' },
    },
  }),
  rate_limited: () => ({
    status: 429,
    page: {
      icon: 'clock',
      title: 'Too many attempts',
      message: 'Please wait a minute before trying to pay again. Nothing was charged.',
    },
  }),
  merchant_not_ready: (code) => merchantNotReady(code.merchantName),
  not_configured: () => ({
    status: 503,
    page: {
      icon: 'warning',
      title: 'Payments are not available',
      message: 'This business cannot take payments right now. Nothing was charged.',
    },
  }),
  interrupted: (code) => ({
    status: 503,
    page: {
      icon: 'warning',
      title: 'Payments are briefly unavailable',
      message: 'Nothing was charged. Please try again in a moment.',
      action: { href: `/${code.slug}`, label: 'Try again' },
    },
  }),
  provider_failed: (code) => ({
    status: 502,
    page: {
      icon: 'warning',
      title: 'The payment page could not open',
      message: 'Nothing was charged. Please try again in a moment.',
      action: { href: `/${code.slug}`, label: 'Try again' },
    },
  }),
}

checkoutRoutes.post(
  `/:slug{${SLUG_PATTERN}}/pay`,
  codeSlug,
  limitBody(MAX_BODY_BYTES),
  csrfGuard,
  async (c) => {
    const ctx = paymentContext(c.env, c.req.url)
    // Authoritative read: money is never taken from a cache.
    const code = asCheckoutCode(await findCodeBySlug(ctx.db, c.req.param('slug').toLowerCase()))
    if (!code) return notFoundPage(c)
    const closed = unavailable(code, Date.now())
    if (closed) return statusPage(c, closed.status, closed.page)

    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
    const form = readPayForm(body, c.req.header('accept-language'))
    const start = await startPayment(ctx, code, form, {
      address: clientKey(c.req.raw, c.env),
      previousPaymentId: getCookie(c, PAY_COOKIE, 'host'),
    })
    switch (start.kind) {
      case 'checkout':
        setCookie(c, PAY_COOKIE, start.paymentId, {
          prefix: 'host',
          httpOnly: true,
          sameSite: 'Lax',
          maxAge: SESSION_TTL_MS / 1000,
        })
        return c.redirect(start.url, 303)
      case 'reshow':
        return c.html(
          <CheckoutPage
            code={code}
            locale={form.locale}
            testMode={isTestMode(c.env)}
            amountInput={form.amount}
            error={start.error}
          />,
          start.status,
        )
      default: {
        if (start.reason === 'rate_limited') c.header('retry-after', '60')
        const { status, page } = NOT_STARTED[start.reason](code)
        return statusPage(c, status, page)
      }
    }
  },
)

checkoutRoutes.route('/', afterPayRoutes)
checkoutRoutes.route('/test-mode', testModeRoutes)
checkoutRoutes.route('/test-mode', testModeDisputeRoutes)
