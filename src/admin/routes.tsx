/**
 * `/admin`: the merchant's minimal admin. Sign-in (API key or one-time link), then codes,
 * payments and settings behind a session. Every unsafe method is CSRF-checked (Origin) on top of
 * the SameSite cookie; no page is cacheable; the CSP allows our one script and same-origin
 * fetch/WebSocket for live updates, nothing else.
 */
import { type Context, Hono } from 'hono'
import { csrf } from 'hono/csrf'
import { secureHeaders } from 'hono/secure-headers'
import { createDb } from '../db/client'
import type { AppEnv } from '../env'
import { limitBody, MAX_BODY_BYTES } from '../http'
import { clientKey } from '../lib/client-address'
import { ADMIN_CSS, ADMIN_CSS_PATH, ADMIN_JS, ADMIN_JS_PATH } from './assets'
import { adminCodes } from './codes'
import { readForm } from './forms'
import { AdminLayout } from './layout'
import { adminPayments } from './payments'
import {
  endSession,
  merchantForKey,
  redeemSignInToken,
  requireAdmin,
  startSession,
} from './session'
import { adminSettings } from './settings'

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

adminRoutes.use('*', adminHeaders, limitBody(MAX_BODY_BYTES), csrf(), async (c, next) => {
  await next()
  c.header('cache-control', 'no-store')
})

function SignIn(props: { error?: string }) {
  return (
    <AdminLayout title="Sign in" section="none">
      <h1>Sign in to qrcheckout</h1>
      <form method="post" action="/admin/login" class="card">
        {props.error ? (
          <p class="error" role="alert" id="key-error">
            {props.error}
          </p>
        ) : null}
        <label for="api_key">API key</label>
        <input
          id="api_key"
          name="api_key"
          type="password"
          autocomplete="off"
          required
          placeholder="qrk_…"
          aria-describedby={props.error ? 'key-error' : undefined}
        />
        <p>
          <button type="submit">Sign in</button>
        </p>
        <p class="muted">
          Use an API key of your account, or the one-time sign-in link printed by
          <code> npm run merchant:create</code>.
        </p>
      </form>
    </AdminLayout>
  )
}

async function tooManyAttempts(c: Context<AppEnv>) {
  const ip = clientKey(c.req.raw, c.env)
  const { success } = await c.env.LOGIN_LIMITER.limit({ key: ip })
  return !success
}

function unavailable(c: Context<AppEnv>) {
  return c.html(
    <SignIn error="Sign-in is not configured on this server (SESSION_SECRET is missing)." />,
    503,
  )
}

adminRoutes.get('/login', (c) => c.html(<SignIn />))

adminRoutes.post('/login', async (c) => {
  if (!c.env.SESSION_SECRET) return unavailable(c)
  if (await tooManyAttempts(c)) {
    c.header('retry-after', '60')
    return c.html(<SignIn error="Too many attempts. Wait a minute and try again." />, 429)
  }
  const form = await readForm(c.req)
  const db = createDb(c.env.DB)
  const key = await merchantForKey(db, form.api_key ?? '')
  if (!key) return c.html(<SignIn error="That API key is not valid or has been revoked." />, 401)
  await startSession(c, db, key.merchantId, key.id)
  return c.redirect('/admin', 303)
})

/** A sign-in link only shows a button: link scanners and previews must not spend it. */
adminRoutes.get('/login/link/:token', (c) =>
  c.html(
    <AdminLayout title="Sign in" section="none">
      <h1>Sign in to qrcheckout</h1>
      <form
        method="post"
        action={`/admin/login/link/${encodeURIComponent(c.req.param('token'))}`}
        class="card"
      >
        <p>This one-time link signs you in on this device.</p>
        <button type="submit">Sign in</button>
      </form>
    </AdminLayout>,
  ),
)

adminRoutes.post('/login/link/:token', async (c) => {
  if (!c.env.SESSION_SECRET) return unavailable(c)
  if (await tooManyAttempts(c))
    return c.html(<SignIn error="Too many attempts. Wait a minute." />, 429)
  const db = createDb(c.env.DB)
  const merchantId = await redeemSignInToken(db, c.req.param('token'))
  if (!merchantId) {
    return c.html(<SignIn error="That sign-in link is invalid, expired or already used." />, 400)
  }
  await startSession(c, db, merchantId, null)
  return c.redirect('/admin', 303)
})

const signedIn = new Hono<AppEnv>()
signedIn.use('*', requireAdmin)
signedIn.post('/logout', async (c) => {
  await endSession(c)
  return c.redirect('/admin/login', 303)
})
signedIn.route('/', adminCodes)
signedIn.route('/', adminPayments)
signedIn.route('/', adminSettings)
adminRoutes.route('/', signedIn)
