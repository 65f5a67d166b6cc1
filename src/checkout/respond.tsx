/** What the customer's payment routes share: their status pages, and the slug guard. */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'
import { RESERVED_SLUGS } from '../lib/paths'
import { StatusPage, type StatusPageProps } from '../pages/layout'
import { isTestMode } from '../payments/mode'
import { customerLocale } from './page'

/**
 * Route words are never slugs: `/api/pay`, `/webhooks/cancel/…` get the one 404 (problem+json
 * under /api and /webhooks), not a checkout page's.
 */
export const codeSlug = createMiddleware<AppEnv>(async (c, next) => {
  if (RESERVED_SLUGS.has((c.req.param('slug') ?? '').toLowerCase())) return c.notFound()
  await next()
})

/** Who a page is shown to: the customer's locale, and whether it must say test mode. */
export const shownTo = (c: Context<AppEnv>) => ({
  locale: customerLocale(c.req.header('accept-language')),
  testMode: isTestMode(c.env),
})

export function statusPage(
  c: Context<AppEnv>,
  status: 200 | 404 | 409 | 410 | 422 | 429 | 502 | 503,
  props: StatusPageProps,
) {
  return c.html(<StatusPage {...props} testMode={isTestMode(c.env)} />, status)
}

export const notFoundPage = (c: Context<AppEnv>) =>
  statusPage(c, 404, {
    icon: 'search',
    title: 'Not found',
    message: 'There is no payment at this address. Check the link, or scan the code again.',
  })
