/**
 * The one CSRF check of every route a browser posts to with a cookie or a form (the admin, the
 * pay form, the test-mode checkout). Unlike hono's csrf(), which looks only at form content types
 * (urlencoded, multipart, text/plain), it checks every unsafe request whatever its body says it
 * is: a JSON or `application/x-foo` POST carrying the session cookie is refused the same way.
 *
 * - With an `Origin` header, it must be our origin: the public base URL when configured, else the
 *   request's own origin. `Origin: null` (a sandboxed frame, a page that hides its origin) is not.
 * - Without one, the browser's `Sec-Fetch-Site` decides: only `same-origin` passes; `same-site`
 *   (a sibling subdomain), `cross-site` and `none` (an address typed or bookmarked: no page of
 *   ours sent it) are refused.
 * - With neither, it is refused: every browser that could carry our cookie sends one of them on
 *   an unsafe request, so a request with neither cannot be told apart from a forged one.
 *
 * Refusals are a 403 `validation_failed` that says which of these it was, as a page or, on the
 * admin's JSON endpoint, as problem+json (http.tsx decides).
 */
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'
import { ApiError } from '../errors'
import { publicBase } from './urls'

/** Methods that only read: the only ones let through unchecked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The origin pages of this site post from; a base URL that is not a URL is compared as written. */
export function ourOrigin(env: AppEnv['Bindings'], requestUrl: string): string {
  const base = publicBase(env, requestUrl)
  return URL.canParse(base) ? new URL(base).origin : base
}

/** Why a request is refused as possibly cross-site; undefined when it comes from our own pages. */
export function crossSiteRefusal(request: Request, ours: string): string | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined
  const origin = request.headers.get('origin')
  if (origin !== null) {
    if (origin === ours) return undefined
    const from = origin === 'null' ? 'a page that does not say its origin' : origin.slice(0, 100)
    return (
      `This form was sent from ${from}, not from this site (${ours}), so it was refused. ` +
      'Open the form on this site and send it from there.'
    )
  }
  const site = request.headers.get('sec-fetch-site')
  if (site === 'same-origin') return undefined
  if (site === null) {
    return (
      'This form was sent without an Origin header, so it cannot be checked as coming from this ' +
      'site. Reload the page and send the form again; if it keeps failing, a browser extension ' +
      'or a proxy may be removing the header.'
    )
  }
  const from =
    site === 'none'
      ? 'no page at all (an address typed or bookmarked)'
      : site === 'same-site'
        ? 'another site of the same domain'
        : 'another site'
  return (
    `This form was sent from ${from} (Sec-Fetch-Site: ${site.slice(0, 20)}), not from a page ` +
    `of this site (${ours}), so it was refused. Open the form on this site and send it from there.`
  )
}

/** Refuses unsafe requests that do not come from a page of ours, whatever their content type. */
export const csrfGuard = createMiddleware<AppEnv>(async (c, next) => {
  const refusal = crossSiteRefusal(c.req.raw, ourOrigin(c.env, c.req.url))
  if (refusal) throw new ApiError(403, 'validation_failed', refusal)
  await next()
})
