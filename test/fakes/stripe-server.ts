/**
 * An in-repo fake of the slice of Stripe's HTTP API we use, served over real HTTP so the real
 * Stripe SDK (running inside workerd) talks to it exactly as it would to api.stripe.com. It checks
 * what we send (form encoding, amounts, currencies, idempotency keys, expiry bounds) the way Stripe
 * does, returns Stripe-shaped objects, and records every request so tests can assert on them.
 *
 * Test-only control endpoints live under `/__fake/`.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

type Json = Record<string, unknown>

export interface RecordedRequest {
  method: string
  path: string
  params: Json
  idempotencyKey: string | null
  authorization: string | null
}

interface FakeState {
  sessions: Map<string, Json>
  /** Payment intent status per session id, shown when the intent is expanded. */
  intents: Map<string, string>
  /** idempotency key → [canonical params, response]. */
  idempotency: Map<string, [string, Json]>
  requests: RecordedRequest[]
  /** The next `times` API requests (default 1) fail with this status and error type. */
  failNext: { status: number; type: string; times?: number } | null
}

const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
])
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd'])

/** Stripe's `a[b][0][c]=v` form encoding back into objects and arrays. */
export function parseForm(body: string): Json {
  const root: Json = {}
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.replace(/\]/g, '').split('[')
    let node: Record<string, unknown> = root
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = value
        return
      }
      const nextIsIndex = /^\d+$/.test(parts[i + 1] ?? '')
      node[part] ??= nextIsIndex ? [] : {}
      node = node[part] as Record<string, unknown>
    })
  }
  return root
}

function stripeError(
  res: ServerResponse,
  status: number,
  message: string,
  param?: string,
  type = 'invalid_request_error',
) {
  send(res, status, { error: { type, message, ...(param ? { param } : {}) } })
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': `req_${randomBytes(6).toString('hex')}`,
  })
  res.end(JSON.stringify(body))
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

function createSession(state: FakeState, params: Json, res: ServerResponse): Json | undefined {
  const bad = (message: string, param: string) => {
    stripeError(res, 400, message, param)
    return undefined
  }
  if (params.mode !== 'payment') return bad('mode must be payment', 'mode')
  const items = params.line_items as Json[] | undefined
  if (!Array.isArray(items) || items.length !== 1)
    return bad('exactly one line item expected', 'line_items')
  const item = items[0] as Json
  if (item.quantity !== '1') return bad('quantity must be 1', 'line_items[0][quantity]')
  const price = item.price_data as Json | undefined
  const currency = String(price?.currency ?? '')
  if (!/^[a-z]{3}$/.test(currency))
    return bad('Invalid currency', 'line_items[0][price_data][currency]')
  const unitAmount = String(price?.unit_amount ?? '')
  if (!/^\d+$/.test(unitAmount))
    return bad('Invalid integer: unit_amount', 'line_items[0][price_data][unit_amount]')
  const amount = Number(unitAmount)
  if (amount < 1 || amount > 99_999_999)
    return bad('Amount out of range', 'line_items[0][price_data][unit_amount]')
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0)
    return bad('three-decimal amounts must end in 0', 'line_items[0][price_data][unit_amount]')
  if (!(price?.product_data as Json | undefined)?.name)
    return bad('product name required', 'line_items[0][price_data][product_data][name]')
  const now = Math.floor(Date.now() / 1000)
  const expiresAt = Number(params.expires_at)
  if (
    !Number.isInteger(expiresAt) ||
    expiresAt < now + 30 * 60 - 5 ||
    expiresAt > now + 24 * 3600
  ) {
    return bad('expires_at must be 30 minutes to 24 hours from now', 'expires_at')
  }
  for (const field of ['success_url', 'cancel_url']) {
    try {
      new URL(String(params[field]))
    } catch {
      return bad(`Not a valid URL: ${field}`, field)
    }
  }
  const sessionId = id('cs_test')
  const session: Json = {
    id: sessionId,
    object: 'checkout.session',
    amount_subtotal: amount,
    amount_total: amount,
    client_reference_id: params.client_reference_id ?? null,
    currency,
    customer_details: null,
    expires_at: expiresAt,
    livemode: false,
    metadata: params.metadata ?? {},
    mode: 'payment',
    payment_intent: null,
    payment_status: 'unpaid',
    status: 'open',
    success_url: params.success_url,
    cancel_url: params.cancel_url,
    url: `https://checkout.stripe.com/c/pay/${sessionId}`,
    created: now,
    zero_decimal: ZERO_DECIMAL.has(currency),
  }
  state.sessions.set(sessionId, session)
  return session
}

/** The session as Stripe would show it, expanding the payment intent's charge when asked. */
function view(state: FakeState, session: Json, expand: string[]): Json {
  const intentId = session.payment_intent as string | null
  if (!intentId || !expand.includes('payment_intent.latest_charge')) return session
  return {
    ...session,
    payment_intent: {
      id: intentId,
      object: 'payment_intent',
      status: state.intents.get(session.id as string) ?? 'succeeded',
      latest_charge: {
        id: id('ch'),
        object: 'charge',
        payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
      },
    },
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function handle(state: FakeState, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://fake')
  const body = await readBody(req)
  const path = url.pathname

  if (path.startsWith('/__fake/')) return control(state, path, body, res)

  const params = req.method === 'GET' ? parseForm(url.searchParams.toString()) : parseForm(body)
  const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null
  const authorization = (req.headers.authorization as string | undefined) ?? null
  state.requests.push({ method: req.method ?? 'GET', path, params, idempotencyKey, authorization })

  if (!authorization?.startsWith('Bearer sk_test_')) {
    return stripeError(res, 401, 'Invalid API Key provided', undefined, 'invalid_request_error')
  }
  if (state.failNext) {
    const { status, type, times = 1 } = state.failNext
    state.failNext = times > 1 ? { status, type, times: times - 1 } : null
    return stripeError(res, status, 'Injected failure', undefined, type)
  }

  if (req.method === 'POST' && path === '/v1/checkout/sessions') {
    if (!idempotencyKey) return stripeError(res, 400, 'this fake demands an Idempotency-Key')
    const canonical = body
    const seen = state.idempotency.get(idempotencyKey)
    if (seen) {
      if (seen[0] !== canonical) {
        return stripeError(
          res,
          400,
          'Keys for idempotent requests can only be used with the same parameters',
          undefined,
          'idempotency_error',
        )
      }
      return send(res, 200, seen[1])
    }
    const session = createSession(state, params, res)
    if (session) {
      state.idempotency.set(idempotencyKey, [canonical, session])
      send(res, 200, session)
    }
    return
  }
  const match = /^\/v1\/checkout\/sessions\/([A-Za-z0-9_]+)(\/expire)?$/.exec(path)
  if (match) {
    const session = state.sessions.get(match[1] ?? '')
    if (!session) return stripeError(res, 404, `No such checkout.session: '${match[1]}'`, 'session')
    if (match[2] && req.method === 'POST') {
      if (session.status !== 'open')
        return stripeError(res, 400, 'Only open sessions can be expired')
      session.status = 'expired'
      return send(res, 200, session)
    }
    if (req.method === 'GET') {
      const expand = ([] as string[]).concat((params.expand as string[] | undefined) ?? [])
      return send(res, 200, view(state, session, expand))
    }
  }
  stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`)
}

function control(state: FakeState, path: string, body: string, res: ServerResponse) {
  if (path === '/__fake/requests') return send(res, 200, state.requests)
  if (path === '/__fake/fail-next') {
    state.failNext = JSON.parse(body) as FakeState['failNext']
    return send(res, 200, { ok: true })
  }
  const pay = /^\/__fake\/sessions\/([A-Za-z0-9_]+)\/(complete|expire|fail-intent|get)$/.exec(path)
  const session = pay ? state.sessions.get(pay[1] ?? '') : undefined
  if (!pay || !session) return send(res, 404, { error: 'unknown control path or session' })
  if (pay[2] === 'complete') {
    // The customer finished Checkout: `paid` for cards, `unpaid` for delayed methods (SEPA…).
    const { payment_status = 'paid', email = 'customer@example.com' } = JSON.parse(
      body || '{}',
    ) as Json
    session.status = 'complete'
    session.payment_status = payment_status
    session.customer_details = { email }
    session.payment_intent = id('pi')
    state.intents.set(session.id as string, payment_status === 'paid' ? 'succeeded' : 'processing')
  }
  // A delayed payment (SEPA…) that the bank refused: the intent needs a new payment method.
  if (pay[2] === 'fail-intent') state.intents.set(session.id as string, 'requires_payment_method')
  // Stripe closed the session at its expires_at (no webhook is sent from here).
  if (pay[2] === 'expire') session.status = 'expired'
  return send(res, 200, session)
}

export async function startFakeStripe(): Promise<{ server: Server; port: number }> {
  const state: FakeState = {
    sessions: new Map(),
    intents: new Map(),
    idempotency: new Map(),
    requests: [],
    failNext: null,
  }
  const server = createServer((req, res) => {
    handle(state, req, res).catch((err) =>
      stripeError(res, 500, String(err), undefined, 'api_error'),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}
