/**
 * The Worker's entry. A scan (`GET /{slug}`) of an active redirect code is answered right here
 * (scan/answer.ts); the scan's pages, their stylesheet, the health check and robots.txt load the small edge
 * app on first use, and everything else loads the full app (API, admin, payments) on first use.
 * So a cold isolate evaluates only what a redirect needs. Also the hourly jobs (scan retention
 * with expired idempotency keys, payment hold reconciliation) and the Durable Object classes.
 */

import { DOMAINS_CRON, HOLDS_CRON } from './lib/crons'
import { lazy } from './lib/lazy'
import { CSS_PREFIX, pathOf, RESERVED_SLUGS, ROBOTS_PATH, SLUG_PATTERN } from './lib/paths'
import { answerScan } from './scan/answer'

export { CodeHub } from './hub/code-hub'

const slug = new RegExp(`^/(${SLUG_PATTERN})$`)
const edge = lazy(() => import('./edge').then((m) => m.createEdgeApp()))
const full = lazy(() => import('./app').then((m) => m.createApp()))

/** The slug of a scan path: one segment that is not one of our route words. */
function scanSlug(path: string): string | undefined {
  const found = slug.exec(path)?.[1]
  return found !== undefined && !RESERVED_SLUGS.has(found.toLowerCase()) ? found : undefined
}

/** The edge app's paths other than scans: its CSS, the health check, robots.txt. */
const isEdgeResource = (path: string) =>
  path.startsWith(CSS_PREFIX) || path === '/health' || path === ROBOTS_PATH

/** Paths the edge app answers: scans, its CSS, the health check, robots.txt. */
export function isEdgePath(path: string): boolean {
  return isEdgeResource(path) || scanSlug(path) !== undefined
}

export default {
  fetch(request, env, ctx) {
    const url = request.url
    const path = pathOf(url)
    const viaEdge = () => edge.get().then((app) => app.fetch(request, env, ctx))
    const scan = scanSlug(path)
    if (scan !== undefined) return answerScan(request, url, env, ctx, scan, viaEdge)
    if (isEdgeResource(path)) return viaEdge()
    return full.get().then((app) => app.fetch(request, env, ctx))
  },
  scheduled(controller, env, ctx) {
    // One job per trigger: each stays within one invocation's D1 query limit on its own.
    const at = controller.scheduledTime
    ctx.waitUntil(
      controller.cron === HOLDS_CRON
        ? import('./payments/reconcile').then((m) => m.reconcileHolds(env, at))
        : controller.cron === DOMAINS_CRON
          ? import('./auth/domains').then((m) => m.recheckDomains(env, at))
          : Promise.all([
              import('./stats/retention').then((m) => m.runRetention(env, controller)),
              import('./api/idempotency').then((m) => m.forgetIdempotencyKeys(env, at)),
            ]),
    )
  },
} satisfies ExportedHandler<Env>
