/**
 * `/test-mode/disputes/{session}`: the test-mode provider's stand-in for a cardholder's bank.
 * A person opens a dispute on a paid test payment, moves it under review, and closes it won or
 * lost; each step is applied like Stripe's `charge.dispute.*` event (`applyDisputeUpdate`:
 * deduplicated, forward only). Only while payments run in test mode, never in production.
 */
import { type Context, Hono } from 'hono'
import { csrf } from 'hono/csrf'
import { type DisputeStatus, isPaidStatus } from '../db/schema'
import type { AppEnv } from '../env'
import { limitBody, MAX_BODY_BYTES } from '../http'
import { isProduction } from '../lib/environment'
import { newId } from '../lib/ids'
import { formatMinor } from '../money/currency'
import { Layout } from '../pages/layout'
import { paymentContext } from '../payments/context'
import { applyDisputeUpdate } from '../payments/dispute-queries'
import { isTestMode } from '../payments/mode'
import { findLinkedPayment } from '../payments/queries'
import { paymentIdOfTestSession } from '../payments/test-mode'
import { notFoundPage, statusPage } from './respond'

export const testModeDisputeRoutes = new Hono<AppEnv>()

testModeDisputeRoutes.use('*', async (c, next) => {
  if (isProduction(c.env) || !isTestMode(c.env)) return notFoundPage(c)
  await next()
})

/** The bank's steps, and the dispute status each reports. */
const STEPS: Record<string, { status: DisputeStatus; label: string }> = {
  open: { status: 'needs_response', label: 'Open a dispute' },
  review: { status: 'under_review', label: 'Evidence sent: under review' },
  won: { status: 'won', label: 'Close: won' },
  lost: { status: 'lost', label: 'Close: lost' },
}

async function paidTestPayment(c: Context<AppEnv>) {
  const sessionId = c.req.param('sessionId') ?? ''
  const paymentId = paymentIdOfTestSession(sessionId)
  if (!paymentId) return undefined
  const ctx = paymentContext(c.env, c.req.url)
  const view = await findLinkedPayment(ctx.db, paymentId)
  return view && view.payment.sessionId === sessionId && view.payment.provider === 'test'
    ? { ctx, view }
    : undefined
}

testModeDisputeRoutes.get('/disputes/:sessionId', async (c) => {
  const found = await paidTestPayment(c)
  if (!found) return notFoundPage(c)
  const { payment } = found.view
  return c.html(
    <Layout title="Test dispute" testMode>
      <div class="card">
        <p class="muted">Test dispute (the cardholder's bank)</p>
        <h1>{payment.description}</h1>
        <p class="amount">{formatMinor(payment.amount, payment.currency)}</p>
        <p>
          Payment <code>{payment.id}</code>: {payment.status}; dispute:{' '}
          <strong>{payment.disputeStatus ?? 'none'}</strong>
        </p>
        <form method="post" action={`/test-mode/disputes/${payment.sessionId}`}>
          {Object.entries(STEPS).map(([step, { label }]) => (
            <button class="button" type="submit" name="step" value={step}>
              {label}
            </button>
          ))}
        </form>
      </div>
    </Layout>,
  )
})

testModeDisputeRoutes.post('/disputes/:sessionId', limitBody(MAX_BODY_BYTES), csrf(), async (c) => {
  const found = await paidTestPayment(c)
  if (!found) return notFoundPage(c)
  const { ctx, view } = found
  const back = { href: `/test-mode/disputes/${view.payment.sessionId}`, label: 'Back' }
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
  const step = typeof form.step === 'string' ? STEPS[form.step] : undefined
  if (!step) {
    return statusPage(c, 422, {
      icon: 'warning',
      title: 'Choose a step',
      message: 'Press one of the buttons.',
      action: back,
    })
  }
  if (!isPaidStatus(view.payment.status)) {
    return statusPage(c, 409, {
      icon: 'warning',
      title: 'Not paid',
      message: 'Only a paid payment can be disputed.',
      action: back,
    })
  }
  await applyDisputeUpdate(ctx.db, {
    eventId: newId('evt'),
    provider: 'test',
    type: `test.dispute.${form.step}`,
    disputeId: `test_dp_${view.payment.id.slice('pay_'.length)}`,
    providerPaymentId: null,
    paymentId: view.payment.id,
    amount: view.payment.amount,
    currency: view.payment.currency,
    status: step.status,
  })
  return c.redirect(back.href, 303)
})
