/**
 * The test-mode provider's own checkout, `/test-mode/checkout/{session}`: where a person chooses
 * whether a test payment succeeds. It exists only while payments run in test mode, and the choice
 * takes the same path as a Stripe webhook's event (`receivePaymentEvent`).
 */
import { type Context, Hono } from 'hono'
import type { AppEnv } from '../env'
import { limitBody, MAX_BODY_BYTES } from '../http'
import { csrfGuard } from '../lib/csrf'
import { isProduction } from '../lib/environment'
import { formatMinor } from '../money/currency'
import { Layout } from '../pages/layout'
import { Payee } from '../pages/payee'
import { paymentContext } from '../payments/context'
import { receivePaymentEvent } from '../payments/events'
import { isTestMode } from '../payments/mode'
import { findLinkedPayment, type PaymentView } from '../payments/queries'
import { paymentIdOfTestSession, testSessionEvent } from '../payments/test-mode'
import { customerLocale } from './page'
import { notFoundPage, statusPage } from './respond'

export const testModeRoutes = new Hono<AppEnv>()

testModeRoutes.use('*', async (c, next) => {
  if (isProduction(c.env) || !isTestMode(c.env)) return notFoundPage(c)
  await next()
})

/** The session in the path and its payment; undefined when it names none. */
async function testSession(c: Context<AppEnv>) {
  const sessionId = c.req.param('sessionId') ?? ''
  const paymentId = paymentIdOfTestSession(sessionId)
  if (!paymentId) return undefined
  const ctx = paymentContext(c.env, c.req.url)
  const view = await findLinkedPayment(ctx.db, paymentId)
  return view && view.payment.sessionId === sessionId ? { ctx, view } : undefined
}

testModeRoutes.get('/checkout/:sessionId', async (c) => {
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

testModeRoutes.post('/checkout/:sessionId', limitBody(MAX_BODY_BYTES), csrfGuard, async (c) => {
  const found = await testSession(c)
  if (!found) return notFoundPage(c)
  const { ctx, view } = found
  const back = { href: `/test-mode/checkout/${view.payment.sessionId}`, label: 'Back' }
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
  const chosen = form.outcome === 'paid' ? 'paid' : form.outcome === 'failed' ? 'failed' : null
  // Like Stripe, a session past its expiry cannot be paid any more: it expires instead.
  const expired = (view.payment.sessionExpiresAt ?? Number.POSITIVE_INFINITY) <= Date.now()
  const outcome = chosen && expired ? 'expired' : chosen
  if (!outcome) {
    return statusPage(c, 422, {
      icon: 'warning',
      title: 'Choose an outcome',
      message: 'Press "Pay" or "Decline".',
      action: back,
    })
  }
  const email =
    typeof form.email === 'string' && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(form.email)
      ? form.email
      : null
  const received = await receivePaymentEvent(ctx, testSessionEvent(view.payment, outcome, email))
  if (received.kind === 'unsettled') {
    return statusPage(c, 503, {
      icon: 'warning',
      title: 'Almost done',
      message: 'Your choice was recorded but could not be finished. Press the button again.',
      action: back,
    })
  }
  return c.redirect(`/${view.slug}/return/${view.payment.id}`, 303)
})

/** The test-mode provider's "hosted checkout": a person chooses the outcome Stripe would report. */
export function TestCheckoutPage(props: { view: PaymentView; locale: string }) {
  const { payment, merchantName, merchantDomain } = props.view
  return (
    <Layout title="Test payment" testMode>
      <div class="card">
        <p class="muted">Test payment to</p>
        <Payee name={merchantName} domain={merchantDomain} />
        <h1>{payment.description}</h1>
        <p class="amount">{formatMinor(payment.amount, payment.currency, props.locale)}</p>
        <p class="muted">
          This is the test-mode provider: no card is charged. Choose what happens, exactly as if
          Stripe had told us.
        </p>
        <form method="post" action={`/test-mode/checkout/${payment.sessionId}`}>
          <label for="email">Email for the receipt (optional)</label>
          <input id="email" name="email" type="email" autocomplete="email" />
          <button class="button" type="submit" name="outcome" value="paid">
            Pay (succeeds)
          </button>
          <button class="button danger" type="submit" name="outcome" value="failed">
            Decline (fails)
          </button>
        </form>
      </div>
      <footer>qrcheckout</footer>
    </Layout>
  )
}
