/**
 * The Worker's entry. A scan (`GET /{slug}`) of an active redirect code is answered right here
 * (scan/answer.ts); the scan's pages, their stylesheet and the health check load the small edge
 * app on first use, and everything else loads the full app (API, admin, payments) on first use.
 * So a cold isolate evaluates only what a redirect needs. Also the hourly retention job and the
 * Durable Object classes.
 */

import { CSS_PREFIX, RESERVED_SLUGS, SLUG_PATTERN } from './lib/paths'
import { answerScan } from './scan/answer'

export { CodeHub } from './hub/code-hub'

type App = {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>
}

const slug = new RegExp(`^/(${SLUG_PATTERN})$`)
let edge: Promise<App> | undefined
let full: Promise<App> | undefined

/** The slug of a scan path: one segment that is not one of our route words. */
function scanSlug(path: string): string | undefined {
  const found = slug.exec(path)?.[1]
  return found !== undefined && !RESERVED_SLUGS.has(found.toLowerCase()) ? found : undefined
}

/** Paths the edge app answers: scans, its CSS, the health check. */
export function isEdgePath(path: string): boolean {
  return path.startsWith(CSS_PREFIX) || path === '/health' || scanSlug(path) !== undefined
}

/** The path of a request URL (the runtime hands it over normalised), without parsing all of it. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  const query = url.indexOf('?', start)
  const hash = url.indexOf('#', start)
  const end = query < 0 ? hash : hash < 0 ? query : Math.min(query, hash)
  return end < 0 ? url.slice(start) : url.slice(start, end)
}

export default {
  fetch(request, env, ctx) {
    const url = request.url
    const path = pathOf(url)
    const viaEdge = () => {
      edge ??= import('./edge').then(
        (m) => m.createEdgeApp(),
        (err: unknown) => {
          edge = undefined // the next request tries again
          throw err
        },
      )
      return edge.then((app) => app.fetch(request, env, ctx))
    }
    const scan = scanSlug(path)
    if (scan !== undefined) return answerScan(request, url, env, ctx, scan, viaEdge)
    if (isEdgePath(path)) return viaEdge()
    full ??= import('./app').then(
      (m) => m.createApp(),
      (err: unknown) => {
        full = undefined
        throw err
      },
    )
    return full.then((app) => app.fetch(request, env, ctx))
  },
  scheduled(controller, env, ctx) {
    ctx.waitUntil(import('./stats/retention').then((m) => m.runRetention(env, controller)))
  },
} satisfies ExportedHandler<Env>
