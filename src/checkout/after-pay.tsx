/**
 * The customer's pages after the provider's checkout: the return URL (how the payment went), the
 * cancel URL (back to the code, closing the session) and the receipt `/r/{id}`. They only display
 * a payment's state; the return page may ask the provider about one whose event is late.
 */
import { Hono } from 'hono'
import { createDb } from '../db/client'
import type { AppEnv } from '../env'
import { SLUG_PATTERN } from '../lib/paths'
import { paymentContext } from '../payments/context'
import { findLinkedPayment, findReceipt } from '../payments/queries'
import { cancelCheckout, paymentProgress } from '../payments/sessions'
import { PaidPage, ReceiptPage } from './pages'
import { codeSlug, notFoundPage, shownTo, statusPage } from './respond'

export const afterPayRoutes = new Hono<AppEnv>()

afterPayRoutes.get(`/:slug{${SLUG_PATTERN}}/return/:paymentId`, codeSlug, async (c) => {
  const ctx = paymentContext(c.env, c.req.url)
  const slug = c.req.param('slug').toLowerCase()
  const view = await findLinkedPayment(ctx.db, c.req.param('paymentId'), slug)
  if (!view) return notFoundPage(c)
  // How many times this page has asked the provider already (its refresh URL counts).
  const checks = Math.min(Math.max(Number.parseInt(c.req.query('checks') ?? '0', 10) || 0, 0), 99)
  const progress = await paymentProgress(ctx, view.payment, checks)
  switch (progress.kind) {
    case 'paid':
      return c.html(<PaidPage view={view} {...shownTo(c)} />)
    case 'processing':
      return statusPage(c, 200, {
        icon: 'hourglass',
        title: 'Payment processing',
        message: 'Your bank is confirming the payment. This page updates by itself.',
        refreshSeconds: 5,
      })
    case 'failed':
      return statusPage(c, 200, {
        icon: 'cross',
        title: 'Payment failed',
        message: 'The payment did not go through and nothing was charged.',
        action: { href: `/${view.slug}`, label: 'Try again' },
      })
    case 'confirming':
      return statusPage(c, 200, {
        icon: 'hourglass',
        title: 'Confirming your payment',
        message:
          'Your payment went through; we are waiting for the confirmation. This page updates by itself.',
        // Waits longer after each check: 2, 4, 8… seconds, at most 30.
        refreshSeconds: Math.min(2 ** progress.checks, 30),
        refreshUrl: `/${view.slug}/return/${view.payment.id}?checks=${progress.checks}`,
      })
    case 'taking_long':
      return statusPage(c, 200, {
        icon: 'hourglass',
        title: 'Confirming your payment',
        message:
          'This is taking longer than usual. If you paid, the receipt will also come by email. This page keeps checking.',
        refreshSeconds: 30,
      })
    case 'not_completed':
      return statusPage(c, 200, {
        icon: 'back',
        title: 'Payment not completed',
        message: 'Nothing was charged.',
        action: { href: `/${view.slug}`, label: 'Back to payment' },
      })
  }
})

afterPayRoutes.get(`/:slug{${SLUG_PATTERN}}/cancel/:paymentId`, codeSlug, async (c) => {
  const ctx = paymentContext(c.env, c.req.url)
  const slug = c.req.param('slug').toLowerCase()
  const view = await findLinkedPayment(ctx.db, c.req.param('paymentId'), slug)
  // Close the session now so a limited code's slot frees without waiting for it to expire.
  if (view?.payment.status === 'pending') await cancelCheckout(ctx, view.payment)
  return c.redirect(`/${slug}`, 303)
})

afterPayRoutes.get('/r/:receiptId', async (c) => {
  const view = await findReceipt(createDb(c.env.DB), c.req.param('receiptId'))
  if (!view) return notFoundPage(c)
  return c.html(<ReceiptPage view={view} {...shownTo(c)} />)
})
