/**
 * Paying: `POST /{slug}/pay` → a pending payment → the provider's hosted checkout (303). Then the
 * return and cancel URLs, the receipt `/r/{id}`, and the test-mode provider's own checkout page.
 * Nothing here ever marks a payment paid except the provider's verified event.
 */
import { type Context, Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { csrf } from 'hono/csrf'
import { createMiddleware } from 'hono/factory'
import { unavailable } from '../codes/availability'
import { findCodeBySlug } from '../codes/queries'
import { createDb, type Db } from '../db/client'
import type { Payment } from '../db/schema'
import type { AppEnv } from '../env'
import { limitBody, MAX_BODY_BYTES } from '../http'
import { hubFor } from '../hub/client'
import { newId } from '../lib/ids'
import { RESERVED_SLUGS, SLUG_PATTERN } from '../lib/paths'
import { publicBase } from '../lib/urls'
import { amountProblem, formatMinor, parseMajorAmount } from '../money/currency'
import { StatusPage, type StatusPageProps } from '../pages/layout'
import { paymentContext } from '../payments/context'
import { HOLD_GRACE_MS } from '../payments/effects'
import { receivePaymentEvent, settleInHub } from '../payments/events'
import { isProduction, isTestMode } from '../payments/mode'
import { type PaymentProvider, ProviderError } from '../payments/provider'
import {
  attachSession,
  discardUnopened,
  failBeforeCheckout,
  findPayment,
  insertPayment,
} from '../payments/queries'
import { paymentProvider } from '../payments/select'
import { paymentIdOfTestSession, testSessionEvent } from '../payments/test-mode'
import { CheckoutPage, customerLocale, priceShown } from './page'
import { PaidPage, ReceiptPage, TestCheckoutPage } from './pages'

/** How many times a return page asks the provider before it only re-reads our database. */
const MAX_PROVIDER_CHECKS = 6

/** Stripe accepts 30 minutes to 24 hours; a minute over the minimum absorbs clock skew. */
export const SESSION_TTL_MS = 31 * 60 * 1000

const PAYMENT_ID = /^pay_[0-9A-Za-z]{22}$/
const RECEIPT_ID = /^rcpt_[0-9A-Za-z]{22}$/

export const checkoutRoutes = new Hono<AppEnv>()

/**
 * Route words are never slugs: `/api/pay`, `/webhooks/cancel/…` get the one 404 (problem+json
 * under /api and /webhooks), not a checkout page's.
 */
const codeSlug = createMiddleware<AppEnv>(async (c, next) => {
  if (RESERVED_SLUGS.has((c.req.param('slug') ?? '').toLowerCase())) return c.notFound()
  await next()
})

checkoutRoutes.use('*', async (c, next) => {
  await next()
  c.header('cache-control', 'no-store')
})

function page(
  c: Context<AppEnv>,
  status: 200 | 404 | 409 | 410 | 422 | 429 | 502 | 503,
  props: StatusPageProps,
) {
  return c.html(<StatusPage {...props} testMode={isTestMode(c.env)} />, status)
}

/**
 * Asks the payment provider about a payment from a public page (return, cancel): at most
 * PAY_LIMITER's 10 times a minute per payment, whoever loads the page, since Stripe's rate limit
 * is shared by the whole account (a looping tab or a script must not starve other customers'
 * checkouts). Undefined when over that, or when the provider cannot answer or is not configured:
 * these pages then show what D1 knows.
 */
async function askProvider<T>(
  c: Context<AppEnv>,
  db: Db,
  paymentId: string,
  ask: (provider: PaymentProvider) => Promise<T>,
): Promise<T | undefined> {
  const { success } = await c.env.PAY_LIMITER.limit({ key: `ask:${paymentId}` })
  if (!success) return undefined
  try {
    return await ask(paymentProvider(c.env, db, publicBase(c.env, c.req.url)))
  } catch (err) {
    console.error('payment provider not asked', paymentId, err)
    return undefined
  }
}

/**
 * The customer's latest payment (its id), so pressing pay again on a limited code — after the
 * browser's Back button, say — closes their own open checkout and takes over its slot instead of
 * being told "someone is paying right now" for half an hour.
 */
const PAY_COOKIE = 'qrc_pay'

/** Closes a pending payment's session: true once it can no longer be paid. */
async function closeSession(c: Context<AppEnv>, db: Db, payment: Payment): Promise<boolean> {
  const sessionId = payment.sessionId
  if (!sessionId) return false
  return (await askProvider(c, db, payment.id, (p) => p.cancelSession(sessionId))) ?? false
}

/** Cancel: closes the session and, once it can no longer be paid, frees its slot at once. */
async function closeCheckout(c: Context<AppEnv>, db: Db, payment: Payment) {
  if (await closeSession(c, db, payment)) {
    await hubFor(c.env, payment.codeId)
      .settlePayment(payment.id, 'released')
      .catch((err) => console.error('closed checkout not released in the hub', payment.id, err))
  }
  // Test mode changed the payment at once; Stripe changes it through its `expired` webhook.
  await settleInHub(paymentContext(c.env, c.req.url), payment.id)
}

const notFoundPage = (c: Context<AppEnv>) =>
  page(c, 404, {
    icon: '🔍',
    title: 'Not found',
    message: 'There is no payment at this address. Check the link, or scan the code again.',
  })

checkoutRoutes.post(
  `/:slug{${SLUG_PATTERN}}/pay`,
  codeSlug,
  limitBody(MAX_BODY_BYTES),
  csrf(),
  async (c) => {
    const slug = c.req.param('slug').toLowerCase()
    const db = createDb(c.env.DB)
    // Authoritative read: money is never taken from a cache.
    const code = await findCodeBySlug(db, slug)
    if (code?.action !== 'checkout' || !code.currency || !code.description) {
      return notFoundPage(c)
    }
    const at = Date.now()
    const closed = unavailable(code, at)
    if (closed) return page(c, closed.status, closed.page)

    const testMode = isTestMode(c.env)
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
    // The locale the page was shown in, which the amount typed follows; else the browser's.
    const locale = customerLocale(
      typeof form.locale === 'string' && form.locale
        ? form.locale.slice(0, 100)
        : c.req.header('accept-language'),
    )
    // Nothing is charged but the price the customer was shown. The page was shown with another
    // price (edited meanwhile), or the form did not say which (not our page's): show it, charge nothing.
    const shown = typeof form.price === 'string' ? form.price : undefined
    const typed = typeof form.amount === 'string' ? form.amount.slice(0, 40) : ''
    // The checkout page again, with what the customer typed and why nothing was charged.
    const reshow = (error: string, status: 400 | 409 | 422) =>
      c.html(
        <CheckoutPage
          code={code}
          locale={locale}
          testMode={testMode}
          amountInput={typed}
          error={error}
        />,
        status,
      )
    if (shown === undefined) return reshow('Check the price, then pay.', 400)
    if (shown !== priceShown(code)) {
      return reshow('The price changed while this page was open. Check it and pay again.', 409)
    }
    let amount = code.amount
    if (amount === null) {
      const parsed = parseMajorAmount(typed, code.currency, locale)
      if (typeof parsed === 'string') return reshow(parsed, 422)
      const money = (minor: number) => formatMinor(minor, code.currency ?? 'usd', locale)
      const error =
        parsed < (code.amountMin ?? 0)
          ? `The amount must be at least ${money(code.amountMin ?? 0)}`
          : parsed > (code.amountMax ?? 0)
            ? `The amount must be at most ${money(code.amountMax ?? 0)}`
            : amountProblem(parsed, code.currency)
      if (error) return reshow(error, 422)
      amount = parsed
    }

    const base = publicBase(c.env, c.req.url)
    const payment: Payment = {
      id: newId('pay'),
      merchantId: code.merchantId,
      codeId: code.id,
      codeVersion: code.version,
      amount,
      currency: code.currency,
      description: code.description,
      status: 'pending',
      provider: c.env.STRIPE_SECRET_KEY ? 'stripe' : 'test',
      sessionId: null,
      sessionExpiresAt: null,
      receiptId: newId('rcpt'),
      customerEmail: null,
      methodBrand: null,
      methodLast4: null,
      failureReason: null,
      createdAt: at,
      updatedAt: at,
      paidAt: null,
      holdCheckedAt: null,
      holdKeptAt: null,
    }
    let provider: ReturnType<typeof paymentProvider>
    try {
      provider = paymentProvider(c.env, db, base)
    } catch (err) {
      console.error('payments unavailable', err)
      return page(c, 503, {
        icon: '⚠️',
        title: 'Payments are not available',
        message: 'This business cannot take payments right now. Nothing was charged.',
      })
    }
    // Each press opens a Stripe session (Stripe itself limits us to 25/s in test mode): bound it per
    // customer and code. Scans are never limited; this only guards the paid-for action.
    const ip = c.req.header('cf-connecting-ip') ?? 'unknown'
    const { success } = await c.env.PAY_LIMITER.limit({ key: `${ip}:${code.id}` })
    if (!success) {
      c.header('retry-after', '60')
      return page(c, 429, {
        icon: '⏱',
        title: 'Too many attempts',
        message: 'Please wait a minute before trying to pay again. Nothing was charged.',
      })
    }

    // This customer's own earlier checkout of a limited code: once closed, the new reservation
    // takes over its slot in the same hub transaction (no one else can take it in between).
    const previous = getCookie(c, PAY_COOKIE, 'host')
    let replaces: string | undefined
    if (code.maxPayments !== null && previous && PAYMENT_ID.test(previous)) {
      const own = await findPayment(db, { id: previous })
      if (own?.payment.codeId === code.id && own.payment.status === 'pending') {
        if (await closeSession(c, db, own.payment)) replaces = own.payment.id
      }
    }

    const unavailableNow = () =>
      page(c, 503, {
        icon: '⚠️',
        title: 'Payments are briefly unavailable',
        message: 'Nothing was charged. Please try again in a moment.',
        action: { href: `/${code.slug}`, label: 'Try again' },
      })
    // The payment is in D1 before its hub can hold a slot for it, so every hold has a row that
    // names it: one whose release fails is found and released by the hourly job (reconcile.ts).
    try {
      await insertPayment(db, payment)
    } catch (err) {
      console.error('payment not recorded', payment.id, err)
      return unavailableNow()
    }

    // The code's hub guards its limit under any concurrency: a slot is held before any session
    // exists, for as long as the session can be paid (plus a grace for a late webhook).
    // From now, not from the request's start: closing this customer's earlier session above may
    // have taken a while, and Stripe refuses an `expires_at` under 30 minutes ahead.
    const expiresAt = Date.now() + SESSION_TTL_MS
    const hub = hubFor(c.env, code.id)
    const hold = await hub
      .reservePayment({
        paymentId: payment.id,
        limit: code.maxPayments,
        holdUntil: expiresAt + HOLD_GRACE_MS[payment.provider],
        replaces,
      })
      .catch((err) => {
        console.error('hub unavailable for a reservation', code.id, err)
        return null
      })
    /**
     * Gives up on this payment before a session is attached: frees its slot (a no-op for one the
     * hub never held), then marks it failed, which the hourly job releases again if the release
     * failed. The slot first: the D1 write may fail for the same reason the last one did.
     */
    const abandon = async (reason: string) => {
      await hub
        .settlePayment(payment.id, 'released')
        .catch((e) => console.error('release failed', payment.id, e))
      await failBeforeCheckout(db, payment.id, reason).catch((e) =>
        console.error('payment left pending without a session', payment.id, e),
      )
    }
    if (!hold) {
      // The hub may have held the slot and lost its answer.
      await abandon('The payment could not be reserved.')
      return unavailableNow()
    }
    if (!hold.ok) {
      // Refused before anything was opened: not a payment attempt.
      await discardUnopened(db, payment.id).catch((e) =>
        console.error('refused payment left pending', payment.id, e),
      )
      return hold.reason === 'sold_out'
        ? page(c, 410, {
            icon: '✅',
            title: code.maxPayments === 1 ? 'This has already been paid' : 'Sold out',
            message: `${code.merchantName} has received all the payments this code allows. Nothing was charged.`,
          })
        : page(c, 409, {
            icon: '⏳',
            title: 'Someone is paying right now',
            message:
              'This code takes a limited number of payments and one is in progress. If it is not completed, you can pay in a few minutes. Nothing was charged.',
            action: { href: `/${code.slug}`, label: 'Try again' },
          })
    }
    try {
      const session = await provider.createCheckout({
        paymentId: payment.id,
        amount,
        currency: code.currency,
        description: code.description,
        merchantName: code.merchantName,
        successUrl: `${base}/${code.slug}/return/${payment.id}`,
        cancelUrl: `${base}/${code.slug}/cancel/${payment.id}`,
        expiresAt,
        metadata: { payment_id: payment.id, code_id: code.id, merchant_id: code.merchantId },
      })
      await attachSession(db, payment.id, session.id, expiresAt)
      setCookie(c, PAY_COOKIE, payment.id, {
        prefix: 'host',
        httpOnly: true,
        sameSite: 'Lax',
        maxAge: SESSION_TTL_MS / 1000,
      })
      return c.redirect(session.url, 303)
    } catch (err) {
      const reason = err instanceof ProviderError ? err.message : 'checkout could not be created'
      console.error('checkout not created', payment.id, err)
      await abandon(reason)
      return page(c, 502, {
        icon: '⚠️',
        title: 'The payment page could not open',
        message: 'Nothing was charged. Please try again in a moment.',
        action: { href: `/${code.slug}`, label: 'Try again' },
      })
    }
  },
)

checkoutRoutes.get(`/:slug{${SLUG_PATTERN}}/return/:paymentId`, codeSlug, async (c) => {
  const slug = c.req.param('slug').toLowerCase()
  const paymentId = c.req.param('paymentId')
  if (!PAYMENT_ID.test(paymentId)) return notFoundPage(c)
  const db = createDb(c.env.DB)
  const view = await findPayment(db, { id: paymentId })
  if (!view || view.slug !== slug) return notFoundPage(c)
  const locale = customerLocale(c.req.header('accept-language'))
  const testMode = isTestMode(c.env)
  const back = { href: `/${view.slug}`, label: 'Back to payment' }
  const { payment } = view

  if (payment.status === 'paid') {
    return c.html(<PaidPage view={view} locale={locale} testMode={testMode} />)
  }
  if (payment.status === 'processing') {
    return page(c, 200, {
      icon: '⏳',
      title: 'Payment processing',
      message: 'Your bank is confirming the payment. This page updates by itself.',
      refreshSeconds: 5,
    })
  }
  if (payment.status === 'failed') {
    return page(c, 200, {
      icon: '✖️',
      title: 'Payment failed',
      message: 'The payment did not go through and nothing was charged.',
      action: { href: `/${view.slug}`, label: 'Try again' },
    })
  }
  if (payment.status === 'pending' && payment.sessionId) {
    // The webhook may not have arrived yet: ask the provider, to display only. Each refresh
    // counts itself, waits longer, and stops asking after a few, so an open tab cannot poll
    // Stripe forever if a webhook is stuck.
    const checks = Math.min(Math.max(Number.parseInt(c.req.query('checks') ?? '0', 10) || 0, 0), 99)
    if (checks >= MAX_PROVIDER_CHECKS) {
      return page(c, 200, {
        icon: '⏳',
        title: 'Confirming your payment',
        message:
          'This is taking longer than usual. If you paid, the receipt will also come by email. This page keeps checking.',
        refreshSeconds: 30,
      })
    }
    const sessionId = payment.sessionId
    const snapshot = await askProvider(c, db, payment.id, (p) => p.getSession(sessionId))
    if (snapshot?.outcome === 'paid' || snapshot?.outcome === 'processing') {
      return page(c, 200, {
        icon: '⏳',
        title: 'Confirming your payment',
        message:
          'Your payment went through; we are waiting for the confirmation. This page updates by itself.',
        refreshSeconds: Math.min(2 ** (checks + 1), 30),
        refreshUrl: `/${view.slug}/return/${payment.id}?checks=${checks + 1}`,
      })
    }
  }
  return page(c, 200, {
    icon: '↩️',
    title: 'Payment not completed',
    message: 'Nothing was charged.',
    action: back,
  })
})

checkoutRoutes.get(`/:slug{${SLUG_PATTERN}}/cancel/:paymentId`, codeSlug, async (c) => {
  const slug = c.req.param('slug').toLowerCase()
  const paymentId = c.req.param('paymentId')
  if (PAYMENT_ID.test(paymentId)) {
    const db = createDb(c.env.DB)
    const view = await findPayment(db, { id: paymentId })
    if (view && view.slug === slug && view.payment.status === 'pending') {
      // Close the session now so a limited code's slot frees without waiting for it to expire.
      await closeCheckout(c, db, view.payment)
    }
  }
  return c.redirect(`/${slug}`, 303)
})

checkoutRoutes.get('/r/:receiptId', async (c) => {
  const receiptId = c.req.param('receiptId')
  if (!RECEIPT_ID.test(receiptId)) return notFoundPage(c)
  const view = await findPayment(createDb(c.env.DB), { receiptId })
  if (view?.payment.status !== 'paid') return notFoundPage(c)
  return c.html(
    <ReceiptPage
      view={view}
      locale={customerLocale(c.req.header('accept-language'))}
      testMode={isTestMode(c.env)}
    />,
  )
})

/** The test-mode provider's checkout: exists only when payments run in test mode. */
const testMode = new Hono<AppEnv>()
testMode.use('*', async (c, next) => {
  if (isProduction(c.env) || !isTestMode(c.env)) return notFoundPage(c)
  await next()
})

async function testSession(c: Context<AppEnv>) {
  const sessionId = c.req.param('sessionId') ?? ''
  const paymentId = paymentIdOfTestSession(sessionId)
  if (!paymentId || !PAYMENT_ID.test(paymentId)) return undefined
  const ctx = paymentContext(c.env, c.req.url)
  const view = await findPayment(ctx.db, { id: paymentId })
  return view && view.payment.sessionId === sessionId ? { ctx, view } : undefined
}

testMode.get('/checkout/:sessionId', async (c) => {
  const found = await testSession(c)
  if (!found) return notFoundPage(c)
  const { view } = found
  if (view.payment.status !== 'pending') {
    return c.redirect(`/${view.slug}/return/${view.payment.id}`, 303)
  }
  return c.html(
    <TestCheckoutPage view={view} locale={customerLocale(c.req.header('accept-language'))} />,
  )
})

testMode.post('/checkout/:sessionId', limitBody(MAX_BODY_BYTES), csrf(), async (c) => {
  const found = await testSession(c)
  if (!found) return notFoundPage(c)
  const { ctx, view } = found
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
  const chosen = form.outcome === 'paid' ? 'paid' : form.outcome === 'failed' ? 'failed' : null
  // Like Stripe, a session past its expiry cannot be paid any more: it expires instead.
  const expired = (view.payment.sessionExpiresAt ?? Number.POSITIVE_INFINITY) <= Date.now()
  const outcome = chosen && expired ? 'expired' : chosen
  if (!outcome) {
    return page(c, 422, {
      icon: '⚠️',
      title: 'Choose an outcome',
      message: 'Press "Pay" or "Decline".',
      action: { href: `/test-mode/checkout/${view.payment.sessionId}`, label: 'Back' },
    })
  }
  const email =
    typeof form.email === 'string' && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(form.email)
      ? form.email
      : null
  const received = await receivePaymentEvent(ctx, testSessionEvent(view.payment, outcome, email))
  if (received.kind === 'unsettled') {
    return page(c, 503, {
      icon: '⚠️',
      title: 'Almost done',
      message: 'Your choice was recorded but could not be finished. Press the button again.',
      action: { href: `/test-mode/checkout/${view.payment.sessionId}`, label: 'Back' },
    })
  }
  return c.redirect(`/${view.slug}/return/${view.payment.id}`, 303)
})

checkoutRoutes.route('/test-mode', testMode)
