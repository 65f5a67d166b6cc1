/**
 * Settings' "Signed-in sessions": where the merchant's admin is signed in right now, and "sign out
 * everywhere", which ends all of them (this one and those from one-time links included). The
 * rules a session lives by are in auth/sessions.ts.
 */
import type { Context } from 'hono'
import { endMerchantSessions, type SessionListing } from '../auth/sessions'
import type { AppEnv } from '../env'
import { when } from './components'
import { forgetSessionCookie } from './session'

/** Sessions listed, most recently used first; "sign out everywhere" ends them all regardless. */
export const SESSIONS_SHOWN = 50

export function SessionList(props: { sessions: SessionListing[]; current: string }) {
  return (
    <section class="card" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Signed-in sessions</h2>
      <p class="muted">
        Where this account is signed in to the admin. A session ends after 12 hours without use, 7
        days after signing in, or when the API key it signed in with is revoked. One started from a
        one-time link has no key: sign out there, or everywhere, to end it sooner.
      </p>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Signed in with</th>
              <th>Browser</th>
              <th class="hide">Started</th>
              <th>Last used</th>
            </tr>
          </thead>
          <tbody>
            {props.sessions.map((s) => (
              <tr>
                <td>
                  {s.key ? (
                    <>
                      API key {s.key.name} <span class="change">(qrk_…{s.key.last4})</span>
                    </>
                  ) : (
                    'One-time link'
                  )}
                </td>
                <td>
                  {s.client ?? 'Unknown browser'}
                  {s.hash === props.current ? (
                    <>
                      {' '}
                      <span class="badge active">this browser</span>
                    </>
                  ) : null}
                </td>
                <td class="hide">{when(s.createdAt)}</td>
                <td>{when(s.lastUsedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {props.sessions.length >= SESSIONS_SHOWN ? (
        <p class="muted">The {SESSIONS_SHOWN} most recently used sessions.</p>
      ) : null}
      <form method="post" action="/admin/logout/everywhere" class="inline">
        <button type="submit" class="danger">
          Sign out everywhere
        </button>
      </form>
      <p class="muted">
        Ends every session above, this one included, and any one-time sign-in link not used yet. API
        keys keep working.
      </p>
    </section>
  )
}

/** Ends every session of the merchant, then sends this browser to the sign-in page. */
export async function signOutEverywhere(c: Context<AppEnv>) {
  await endMerchantSessions(c.var.db, c.var.admin.merchantId)
  forgetSessionCookie(c)
  return c.redirect('/admin/login', 303)
}
