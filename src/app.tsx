/**
 * The app factory: one error path, one 404, and the feature sub-apps mounted in order. Routes with
 * fixed prefixes come before the root-level slug route; route words are reserved slugs.
 */
import { adminAssets, adminRoutes } from './admin/routes'
import { answerUnrouted, createApi, isWrite } from './api/factory'
import { idempotentPosts } from './api/idempotency'
import type { OpenApiDocument } from './api/reference/document'
import { ReferencePage } from './api/reference/page'
import { REFERENCE_CSS, REFERENCE_CSS_PATH } from './api/reference/style'
import { requireApiKey } from './auth/middleware'
import { registerApiKeyRoutes } from './auth/routes'
import { checkoutRoutes } from './checkout/routes'
import { registerCodeRoutes } from './codes/routes'
import { createDb } from './db/client'
import { edgeRoutes } from './edge'
import { ApiError } from './errors'
import { handleErrors, limitBody, MAX_BODY_BYTES, pageHeaders, qrHeaders } from './http'
import { registerLiveFeedRoute, registerLiveTokenRoute } from './hub/live-routes'
import { publicBase } from './lib/urls'
import { registerAccountRoutes } from './payments/account-routes'
import { registerRefundRoutes } from './payments/refund-routes'
import { registerPaymentRoutes } from './payments/routes'
import { webhookRoutes } from './payments/webhook-routes'
import { qrRoutes } from './qr/routes'
import { registerStatsRoutes } from './stats/routes'

const API_BASE = '/api/v1'

export function createApp() {
  const api = createApi()
  api.use('*', async (c, next) => {
    c.set('db', createDb(c.env.DB))
    await next()
    // A merchant's data (an API key's secret, even) is never for a shared cache.
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store')
  })
  api.use('*', limitBody(MAX_BODY_BYTES))
  // The live feed authenticates itself (an API key, or a live token from a browser).
  registerLiveFeedRoute(api)
  api.use('*', requireApiKey)
  api.use('*', async (c, next) => {
    if (isWrite(c.req.method)) {
      // Per merchant, not per key: a key with `keys:write` can create more keys.
      const { success } = await c.env.API_WRITE_LIMITER.limit({ key: c.var.auth.merchantId })
      if (!success) {
        throw new ApiError(
          429,
          'rate_limited',
          "Too many writes with this merchant's API keys; retry in a minute.",
        )
      }
    }
    await next()
  })
  // After auth (keys are per merchant) and the write limit (its 429 claims nothing).
  api.use('*', idempotentPosts)
  registerCodeRoutes(api)
  registerStatsRoutes(api)
  registerLiveTokenRoute(api)
  registerApiKeyRoutes(api)
  registerPaymentRoutes(api)
  registerAccountRoutes(api)
  registerRefundRoutes(api)
  answerUnrouted(api, API_BASE)

  const app = createApi()
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer qrk_…`.',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'liveToken', {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'A short-lived token from `POST /api/v1/codes/{id}/live-token` (live feed only).',
  })
  app.use('*', async (c, next) => {
    // The admin sets its own policy; every other HTML page, the API reference included, is ours
    // alone under the pages' policy, including those of slugs like "admin-fees".
    const path = c.req.path
    if (path === '/admin' || path.startsWith('/admin/')) return next()
    if (path.startsWith('/qr/')) return qrHeaders(c, next)
    return pageHeaders(c, next)
  })
  app.route(API_BASE, api)
  app.route('/', qrRoutes)
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'qrcheckout API',
      version: '1.0.0',
      description:
        'Dynamic QR codes that redirect or take payments. Amounts are integers in minor units; errors are application/problem+json with a stable `code`.',
    },
    // Our public origin, never the Host header's (503 in production without PUBLIC_BASE_URL).
    servers: [{ url: publicBase(c.env, c.req.url) }],
  }))
  // The reference renders the very document /openapi.json serves (asked for in-process), so the
  // two can never disagree; no script, nothing from another origin.
  app.get('/docs', async (c) => {
    // Refused as a page (503) before the document is asked for, when it could not name a server.
    publicBase(c.env, c.req.url)
    const spec = await app.fetch(new Request(new URL('/openapi.json', c.req.url)), c.env)
    const doc = (await spec.json()) as OpenApiDocument
    return c.html(<ReferencePage doc={doc} specPath="/openapi.json" />)
  })
  app.get(REFERENCE_CSS_PATH, (c) =>
    c.body(REFERENCE_CSS, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
    }),
  )
  // Stripe's webhook: no cookies, no CSRF, raw body; outside everything a browser uses.
  app.route('/webhooks', webhookRoutes)
  app.route('/', adminAssets)
  app.route('/admin', adminRoutes)
  app.route('/', checkoutRoutes)
  app.route('/', edgeRoutes)

  handleErrors(app)
  return app
}
