/**
 * The scan pages' small app: `GET /{slug}` when the answer is a page (not found, paused, ended,
 * the checkout), the stylesheet those pages use, the health check and robots.txt. The entry loads it on the
 * first such request (a redirect never needs it) and never loads the rest for these (API schemas,
 * admin, payments), so a cold isolate pays only for what a scan needs.
 */
import { Hono } from 'hono'
import type { AppEnv } from './env'
import { handleErrors, pageHeaders } from './http'
import { ROBOTS_PATH } from './lib/paths'
import { CSS, CSS_PATH } from './pages/styles'
import { scanRoutes } from './scan/routes'

/** Routes shared by both apps (the full app mounts them too, so it stands alone in tests). */
export const edgeRoutes = new Hono<AppEnv>()
edgeRoutes.get(CSS_PATH, (c) =>
  c.body(CSS, 200, {
    'content-type': 'text/css; charset=utf-8',
    'cache-control': 'public, max-age=31536000, immutable',
  }),
)
edgeRoutes.get('/health', (c) => c.json({ ok: true }))
// Nothing here is for search engines: short URLs redirect or show one customer's checkout.
edgeRoutes.get(ROBOTS_PATH, (c) =>
  c.body('User-agent: *\nDisallow: /\n', 200, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'public, max-age=86400',
  }),
)
edgeRoutes.route('/', scanRoutes)

export function createEdgeApp() {
  const app = new Hono<AppEnv>()
  app.use('*', pageHeaders)
  app.route('/', edgeRoutes)
  handleErrors(app)
  return app
}
