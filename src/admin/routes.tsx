/**
 * `/admin`: the merchant's minimal admin. Sign-in (API key or one-time link), then codes,
 * payments and settings behind a session. Every unsafe request is CSRF-checked (Origin, else
 * Sec-Fetch-Site; lib/csrf.ts), whatever its content type, on top of the SameSite cookie; no page
 * is cacheable; the CSP allows our one script and same-origin fetch/WebSocket for live updates,
 * nothing else. Every admin URL is listed here, each answered by its screen's file.
 */
import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import type { AppEnv } from '../env'
import { limitBody, MAX_BODY_BYTES } from '../http'
import { csrfGuard } from '../lib/csrf'
import { ADMIN_CSS, ADMIN_CSS_PATH, ADMIN_JS, ADMIN_JS_PATH } from './assets'
import { saveEdit, showEditForm } from './codes/edit'
import { showCodeList } from './codes/list'
import { issueCodeLiveToken } from './codes/live-token'
import { createCodeFromForm, showNewCodeForm } from './codes/new'
import { showCode } from './codes/show'
import { changeCodeStatus } from './codes/status'
import {
  chooseTestOnboarding,
  connectStripe,
  refreshStripeLink,
  returnFromStripe,
  showTestOnboarding,
} from './payment-account'
import { exportPaymentsCsv } from './payments/export'
import { showPayments } from './payments/list'
import { refundFromAdmin } from './payments/refund'
import { showPayment } from './payments/show'
import { requireAdmin } from './session'
import { signOutEverywhere } from './sessions'
import { checkDomainNow, createKey, revokeKey, saveProfile, showSettings } from './settings'
import { showSignIn, showSignInLink, signInWithKey, signInWithLink, signOut } from './sign-in'

export const adminHeaders = secureHeaders({
  xFrameOptions: 'DENY',
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: 'same-origin',
})

/** The admin's two static files, cached for a year under their content hash. */
export const adminAssets = new Hono<AppEnv>()
adminAssets.get(ADMIN_CSS_PATH, (c) =>
  c.body(ADMIN_CSS, 200, {
    'content-type': 'text/css; charset=utf-8',
    'cache-control': 'public, max-age=31536000, immutable',
  }),
)
adminAssets.get(ADMIN_JS_PATH, (c) =>
  c.body(ADMIN_JS, 200, {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'public, max-age=31536000, immutable',
  }),
)

export const adminRoutes = new Hono<AppEnv>()

adminRoutes.use('*', adminHeaders, limitBody(MAX_BODY_BYTES), csrfGuard, async (c, next) => {
  await next()
  c.header('cache-control', 'no-store')
})

adminRoutes.get('/login', showSignIn)
adminRoutes.post('/login', signInWithKey)
adminRoutes.get('/login/link/:token', showSignInLink)
adminRoutes.post('/login/link/:token', signInWithLink)

/** Everything else needs a session (without one: the sign-in page). */
const signedIn = new Hono<AppEnv>()
signedIn.use('*', requireAdmin)
signedIn.post('/logout', signOut)
signedIn.post('/logout/everywhere', signOutEverywhere)

signedIn.get('/', showCodeList)
// Before `/codes/:id`, which would take "new" for an id.
signedIn.get('/codes/new', showNewCodeForm)
signedIn.post('/codes/new', createCodeFromForm)
signedIn.get('/codes/:id', showCode)
signedIn.post('/codes/:id/live-token', issueCodeLiveToken)
signedIn.post('/codes/:id/status', changeCodeStatus)
signedIn.get('/codes/:id/edit', showEditForm)
signedIn.post('/codes/:id/edit', saveEdit)

signedIn.get('/payments', showPayments)
signedIn.get('/payments.csv', exportPaymentsCsv)
signedIn.get('/payments/:id', showPayment)
signedIn.post('/payments/:id/refund', refundFromAdmin)

signedIn.get('/settings', showSettings)
signedIn.post('/settings', saveProfile)
signedIn.post('/settings/domain/verify', checkDomainNow)
signedIn.post('/settings/keys', createKey)
signedIn.post('/settings/keys/:id/revoke', revokeKey)
signedIn.post('/settings/stripe/connect', connectStripe)
signedIn.get('/settings/stripe/return', returnFromStripe)
signedIn.get('/settings/stripe/refresh', refreshStripeLink)
signedIn.get('/settings/stripe/test-onboarding', showTestOnboarding)
signedIn.post('/settings/stripe/test-onboarding', chooseTestOnboarding)

adminRoutes.route('/', signedIn)
