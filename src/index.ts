/**
 * The Worker's entry. A scan (`GET /{slug}`) is answered by the small edge app; everything else
 * loads the full app on first use, so a cold isolate's scan never pays for the API's schemas,
 * the admin or the payment code. Also the hourly retention job and the Durable Object classes.
 */

import { RESERVED_SLUGS } from './codes/rules'
import { createEdgeApp } from './edge'
import { CSS_PATH } from './pages/styles'
import { SLUG_PATTERN, warmRedirect } from './scan/routes'

export { CodeHub } from './hub/code-hub'

const edge = createEdgeApp()
const slug = new RegExp(`^/(${SLUG_PATTERN})$`)
let full: Promise<{ fetch: typeof edge.fetch }> | undefined

/** The slug of a scan path: one segment that is not one of our route words. */
function scanSlug(path: string): string | undefined {
  const found = slug.exec(path)?.[1]
  return found !== undefined && !RESERVED_SLUGS.has(found.toLowerCase()) ? found : undefined
}

/** Paths the edge app answers: scans, its CSS, the health check. */
export function isEdgePath(path: string): boolean {
  return path === CSS_PATH || path === '/health' || scanSlug(path) !== undefined
}

/** The path of a request URL (the runtime hands it over normalised), without parsing all of it. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  const end = url.search(/[?#]/)
  return end < 0 ? url.slice(start) : url.slice(start, end)
}

export default {
  fetch(request, env, ctx) {
    const url = request.url
    const path = pathOf(url)
    const scan = scanSlug(path)
    if (scan !== undefined) {
      return warmRedirect(request, url, env, ctx, scan) ?? edge.fetch(request, env, ctx)
    }
    if (isEdgePath(path)) return edge.fetch(request, env, ctx)
    full ??= import('./app').then((m) => m.createApp())
    return full.then((app) => app.fetch(request, env, ctx))
  },
  scheduled(controller, env, ctx) {
    ctx.waitUntil(import('./stats/retention').then((m) => m.runRetention(env, controller)))
  },
} satisfies ExportedHandler<Env>
