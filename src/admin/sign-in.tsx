/** Signing in to the admin (an API key, or a one-time link) and signing out. */
import type { Context } from 'hono'
import { merchantForKey, redeemSignInToken } from '../auth/sessions'
import { createDb } from '../db/client'
import type { AppEnv } from '../env'
import { clientKey } from '../lib/client-address'
import { readForm } from './forms'
import { AdminLayout } from './layout'
import { endSession, startSession } from './session'

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

export function showSignIn(c: Context<AppEnv>) {
  return c.html(<SignIn />)
}

export async function signInWithKey(c: Context<AppEnv>) {
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
}

/** A sign-in link only shows a button: link scanners and previews must not spend it. */
export function showSignInLink(c: Context<AppEnv, '/login/link/:token'>) {
  return c.html(
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
  )
}

export async function signInWithLink(c: Context<AppEnv, '/login/link/:token'>) {
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
}

export async function signOut(c: Context<AppEnv>) {
  await endSession(c)
  return c.redirect('/admin/login', 303)
}
