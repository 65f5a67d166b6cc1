/**
 * The live feed of a code: `GET /codes/{id}/live` upgrades to a WebSocket served by the code's hub,
 * and `POST /codes/{id}/live-token` issues the short-lived token browsers pass as `?token=`.
 */
import { z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { type Api, apiRoute, json, problem, security } from '../api/factory'
import { authenticateApiKey, unauthorized } from '../auth/middleware'
import type { Scope } from '../auth/scopes'
import { getCode } from '../codes/queries'
import { CodeId } from '../codes/schemas'
import type { AppEnv, Bindings } from '../env'
import { ApiError, notFound } from '../errors'
import { log } from '../lib/log'
import { publicBase } from '../lib/urls'
import { hubFor } from './client'
import { isSubjectLive } from './credentials'
import { LIVE_TOKEN_TTL_MS, signLiveToken, verifyLiveToken } from './live-token'
import { SUBJECT_HEADER } from './types'

const tags = ['Live']
const params = z.object({ id: CodeId })
const liveUnavailable = problem(
  "The code's hub cannot be reached, or already has as many feeds open as it takes; retry later.",
)

/** The feed shows a code's scans (and its payments' progress), as its stats do. */
const feedScope: Scope = 'stats:read'

/** Either scheme opens the feed. */
const liveSecurity: Record<string, string[]>[] = [{ bearer: [] }, { liveToken: [] }]

const liveRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}/live',
  operationId: 'openLiveFeed',
  tags,
  security: liveSecurity,
  scope: feedScope,
  summary: "Watch a code's scans and payments live (WebSocket)",
  description: [
    'Open as a WebSocket with the API key in `Authorization`, or, from a browser, with `?token=` from `POST /codes/{id}/live-token`.',
    'Messages are JSON: first `{"type":"hello","code_id","counters"}`, then `{"type":"update","counters","events":[…],"omitted"}` at most 10 times a second.',
    'Events are `{"type":"scan","id","at","country","city","device","browser","is_bot","checkout_view"}` and `{"type":"payment","payment_id","status":"pending|paid|released","at"}`; under a flood at most 100 events per message are listed and the rest counted in `omitted`, while the counters stay exact.',
    'Send `counters` to get the counters again; `ping` is answered with `pong`.',
    'A feed lasts 30 minutes: the hub then closes it with code 4001, and the client opens it again (its credentials are checked again).',
    'While it runs, the hub confirms once a minute, before sending it more, that the API key or admin session behind the feed is still live: a feed whose key was revoked or whose session ended is closed with code 4003, and reopening it is refused (401).',
  ].join(' '),
  request: {
    params,
    query: z.strictObject({
      token: z
        .string()
        .max(512)
        .optional()
        .openapi({ description: 'A live token, for clients that cannot send headers.' }),
    }),
  },
  responses: {
    101: { description: 'Switching protocols: the socket carries the feed.' },
    426: problem('The request is not a WebSocket upgrade.'),
    503: liveUnavailable,
  },
})

const LiveToken = z
  .object({
    object: z.literal('live_token'),
    token: z.string(),
    expires_at: z.string(),
    url: z.string().openapi({ description: 'The WebSocket URL with the token, ready to open.' }),
  })
  .openapi('LiveToken')

const liveTokenRoute = apiRoute({
  method: 'post',
  path: '/codes/{id}/live-token',
  operationId: 'createLiveToken',
  tags,
  security,
  scope: feedScope,
  summary: 'Get a short-lived token to open the live feed from a browser',
  description: `The token is valid for ${LIVE_TOKEN_TTL_MS / 1000} seconds, for this code only, and stops working if the API key that asked for it is revoked. It only opens the socket: the feed itself lasts 30 minutes, then closes with code 4001 and must be opened again.`,
  request: { params },
  responses: {
    201: json(LiveToken, 'A token and the URL to open.'),
    503: problem(
      'Live tokens are not configured on this deployment (`LIVE_TOKEN_SECRET`, and in production `PUBLIC_BASE_URL`).',
    ),
  },
})

/** API key or live token, whichever the request carries (a header wins over a token). */
const liveAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = c.req.query('token')
  if (token === undefined || c.req.header('authorization') !== undefined) {
    c.set('auth', await authenticateApiKey(c))
    return next()
  }
  const secret = c.env.LIVE_TOKEN_SECRET
  const claims = secret ? await verifyLiveToken(secret, token) : null
  if (!claims || claims.codeId !== c.req.param('id')) {
    throw unauthorized('The live token is invalid, expired, or for another code.')
  }
  // Tokens name who asked: an API key, or an admin session (`admin:<hash>`); either must still be live.
  if (!(await isSubjectLive(c.var.db, claims.apiKeyId)))
    throw unauthorized('The API key or session behind this live token has ended.')
  // A token was issued under the feed's scope (a key's scopes never change): it opens the feed only.
  c.set('auth', { merchantId: claims.merchantId, apiKeyId: claims.apiKeyId, scopes: [feedScope] })
  await next()
})

/** A socket on the code's hub: the one source of the feed, whichever way a client reads it. */
async function hubSocket(
  env: AppEnv['Bindings'],
  codeId: string,
  subject: string,
): Promise<WebSocket> {
  const unavailable = () =>
    new ApiError(503, 'temporarily_unavailable', 'The live feed is not available right now.')
  const answer = await hubFor(env, codeId)
    .fetch('https://hub/live', { headers: { upgrade: 'websocket', [SUBJECT_HEADER]: subject } })
    .catch((err) => {
      log.error('live feed: hub unreachable', { codeId }, err)
      throw unavailable()
    })
  if (answer.status !== 101 || !answer.webSocket) throw unavailable()
  return answer.webSocket
}

/** An SSE stream's limits: a reader this far behind is dropped (it reconnects, as SSE does). */
export const SSE_MAX_QUEUED = 32
/** A comment this often shows a reader that went away while the code was quiet. */
const SSE_PING_MS = 25_000
/** A stream ends after this long; the client reconnects, and its credentials are checked again. */
const SSE_MAX_MS = 30 * 60_000

const eventsRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}/events',
  operationId: 'streamLiveEvents',
  tags,
  security: liveSecurity,
  scope: feedScope,
  summary: 'The same live feed as Server-Sent Events (text/event-stream)',
  description:
    'Each message of the WebSocket feed arrives as one `data:` event (JSON). Same authentication as `/live`.',
  request: {
    params,
    query: z.strictObject({ token: z.string().max(512).optional() }),
  },
  responses: {
    200: {
      description: 'An event stream.',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    503: liveUnavailable,
  },
})

/** Registers the feed itself; call before the API-key middleware, since it also takes tokens. */
export function registerLiveFeedRoute(api: Api) {
  api.use('/codes/:id/live', liveAuth)
  api.use('/codes/:id/events', liveAuth)
  api.openapi(liveRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError(426, 'upgrade_required', 'Open this URL as a WebSocket.')
    }
    // A fresh response: the hub's is immutable, and our middleware adds headers.
    return new Response(null, {
      status: 101,
      webSocket: await hubSocket(c.env, code.id, c.var.auth.apiKeyId),
    })
  })

  // SSE relays the hub's socket from the Worker, so the hub keeps one feed and hibernates as usual.
  api.openapi(eventsRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const headers = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    }
    // A HEAD never reads a body: open nothing.
    if (c.req.method === 'HEAD') return c.body(null, 200, headers)
    const socket = await hubSocket(c.env, code.id, c.var.auth.apiKeyId)
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    const writer = writable.getWriter()
    const encoder = new TextEncoder()
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      clearInterval(ping)
      clearTimeout(expiry)
      socket.close()
      writer.close().catch(() => {})
    }
    /** A write fails once the client has gone; a client that stops reading is dropped. */
    const send = (text: string) => {
      if (ended) return
      if ((writer.desiredSize ?? 0) < -SSE_MAX_QUEUED) return end()
      writer.write(encoder.encode(text)).catch(end)
    }
    const ping = setInterval(() => send(': ping\n\n'), SSE_PING_MS)
    const expiry = setTimeout(end, SSE_MAX_MS)
    socket.accept()
    socket.addEventListener('message', (event) => send(`data: ${String(event.data)}\n\n`))
    socket.addEventListener('close', end)
    return c.body(readable, 200, headers)
  })
}

export function registerLiveTokenRoute(api: Api) {
  api.openapi(liveTokenRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const token = await issueLiveToken(c.env, code, c.var.auth.apiKeyId, c.req.url)
    return c.json(token, 201)
  })
}

/**
 * A token for one code's feed, and the WebSocket URL that carries it, on our public origin (503
 * without the secret, or in production without PUBLIC_BASE_URL).
 */
export async function issueLiveToken(
  env: Pick<Bindings, 'LIVE_TOKEN_SECRET' | 'PUBLIC_BASE_URL' | 'ENVIRONMENT'>,
  code: { id: string; merchantId: string },
  subject: string,
  requestUrl: string,
) {
  const secret = env.LIVE_TOKEN_SECRET
  if (!secret) {
    throw new ApiError(503, 'not_configured', 'Live tokens are not configured on this server.')
  }
  const expiresAt = Date.now() + LIVE_TOKEN_TTL_MS
  const token = await signLiveToken(secret, {
    codeId: code.id,
    merchantId: code.merchantId,
    apiKeyId: subject,
    expiresAt,
  })
  const url = new URL(`/api/v1/codes/${code.id}/live`, publicBase(env, requestUrl))
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:'
  url.searchParams.set('token', token)
  return {
    object: 'live_token' as const,
    token,
    expires_at: new Date(expiresAt).toISOString(),
    url: url.toString(),
  }
}
