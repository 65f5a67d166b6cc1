/**
 * The Worker's entry. A scan (`GET /{slug}`) is answered by the small edge app; everything else
 * loads the full app on first use, so a cold isolate's scan never pays for the API's schemas,
 * the admin or the payment code. Also the hourly retention job and the Durable Object classes.
 */

import { RESERVED_SLUGS } from './codes/rules'
import { createEdgeApp } from './edge'
import { CSS_PATH } from './pages/styles'
import { SLUG_PATTERN } from './scan/routes'

export { CodeHub } from './hub/code-hub'

const edge = createEdgeApp()
const slug = new RegExp(`^/(${SLUG_PATTERN})$`)
let full: Promise<{ fetch: typeof edge.fetch }> | undefined

/** Paths the edge app answers: one-segment slugs (not our route words), its CSS, the health check. */
export function isEdgePath(path: string): boolean {
  if (path === CSS_PATH || path === '/health') return true
  const match = slug.exec(path)
  return match !== null && !RESERVED_SLUGS.has((match[1] ?? '').toLowerCase())
}

export default {
  fetch(request, env, ctx) {
    if (isEdgePath(new URL(request.url).pathname)) return edge.fetch(request, env, ctx)
    full ??= import('./app').then((m) => m.createApp())
    return full.then((app) => app.fetch(request, env, ctx))
  },
  scheduled(controller, env, ctx) {
    ctx.waitUntil(import('./stats/retention').then((m) => m.runRetention(env, controller)))
  },
} satisfies ExportedHandler<Env>
