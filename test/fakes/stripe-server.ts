/**
 * An in-repo fake of the slice of Stripe's HTTP API we use, served over real HTTP so the real
 * Stripe SDK (running inside workerd) talks to it exactly as it would to api.stripe.com. It checks
 * what we send (form encoding, amounts, currencies, idempotency keys, expiry bounds) the way Stripe
 * does, returns Stripe-shaped objects, and records every request so tests can assert on them.
 *
 * API: Checkout Sessions; Connect accounts and account links (stripe-connect.ts); payment intents,
 * charges, application fees, refunds and disputes (stripe-money.ts). The `Stripe-Account` header
 * is honoured on every call: what is made under a connected account is visible only from it.
 * Idempotency keys are kept per account, and only for answered requests.
 *
 * Test-only control endpoints live under `/__fake/` (POST with a JSON body, GET without):
 * - `requests`: every API request so far; `fail-next` `{ status, type, times? }`
 * - `sessions/{id}/complete` `{ payment_status?, email? }` (makes the intent and charge),
 *   `…/fail-intent`, `…/expire`, `…/get`
 * - `accounts/{id}/state` `{ state: ready | requirements_due | rejected | onboarding,
 *   disabled_reason?, currently_due? }`
 * - `refunds/fail-next` `{ failure_reason? }`; `refunds/{id}/fail` `{ failure_reason? }`
 * - `charges/{ch_… or pi_…}/dispute` `{ amount?, reason?, status? }`;
 *   `disputes/{id}/status` `{ status }`
 * - `events` `{ type, object, secret, account?, previous_attributes?, expand?, timestamp? }`:
 *   a signed envelope `{ event, payload, signature }` (stripe-events.ts)
 * - `objects/{id}`: any object and its owner, whoever may see it
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createAccount,
  createAccountLink,
  currentAccount,
  retrieveAccount,
  setAccountState,
} from './stripe-connect'
import { buildEvent, type EventRequest } from './stripe-events'
import {
  chargeTerms,
  completeSession,
  createRefund,
  failIntent,
  failRefund,
  intentView,
  listRefunds,
  openDispute,
  retrieveApplicationFee,
  retrieveCharge,
  retrieveDispute,
  retrieveIntent,
  retrieveRefund,
  setDisputeStatus,
} from './stripe-money'
import {
  type Call,
  type FakeState,
  type Json,
  missing,
  newId,
  newState,
  StripeApiError,
  THREE_DECIMAL,
  visible,
  ZERO_DECIMAL,
} from './stripe-state'

export type { RecordedRequest } from './stripe-state'

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

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': newId('req'),
    ...headers,
  })
  res.end(JSON.stringify(body))
}

function createSession(call: Call): Json {
  const { state, params, account } = call
  const bad = (message: string, param: string) => new StripeApiError(400, message, { param })
  if (params.mode !== 'payment') throw bad('mode must be payment', 'mode')
  const items = params.line_items as Json[] | undefined
  if (!Array.isArray(items) || items.length !== 1)
    throw bad('exactly one line item expected', 'line_items')
  const item = items[0] as Json
  if (item.quantity !== '1') throw bad('quantity must be 1', 'line_items[0][quantity]')
  const price = item.price_data as Json | undefined
  const currency = String(price?.currency ?? '')
  if (!/^[a-z]{3}$/.test(currency))
    throw bad('Invalid currency', 'line_items[0][price_data][currency]')
  const unitAmount = String(price?.unit_amount ?? '')
  if (!/^\d+$/.test(unitAmount))
    throw bad('Invalid integer: unit_amount', 'line_items[0][price_data][unit_amount]')
  const amount = Number(unitAmount)
  if (amount < 1 || amount > 99_999_999)
    throw bad('Amount out of range', 'line_items[0][price_data][unit_amount]')
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0)
    throw bad('three-decimal amounts must end in 0', 'line_items[0][price_data][unit_amount]')
  if (!(price?.product_data as Json | undefined)?.name)
    throw bad('product name required', 'line_items[0][price_data][product_data][name]')
  const created = Math.floor(Date.now() / 1000)
  const expiresAt = Number(params.expires_at)
  if (
    !Number.isInteger(expiresAt) ||
    expiresAt < created + 30 * 60 - 5 ||
    expiresAt > created + 24 * 3600
  ) {
    throw bad('expires_at must be 30 minutes to 24 hours from now', 'expires_at')
  }
  for (const field of ['success_url', 'cancel_url']) {
    try {
      new URL(String(params[field]))
    } catch {
      throw bad(`Not a valid URL: ${field}`, field)
    }
  }
  // Connect: the platform's fee, the account charged (direct) or paid out to (destination).
  const terms = chargeTerms(state, params, account, amount)
  const sessionId = newId('cs_test')
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
    created,
    zero_decimal: ZERO_DECIMAL.has(currency),
  }
  state.sessions.set(sessionId, session)
  state.sessionTerms.set(sessionId, terms)
  state.owners.set(sessionId, account)
  return session
}

/** The session as Stripe would show it, expanding its payment intent (and charge) when asked. */
function sessionView(state: FakeState, session: Json, expand: string[]): Json {
  const intent = state.paymentIntents.get(String(session.payment_intent))
  if (!intent) return { ...session }
  if (expand.includes('payment_intent.latest_charge')) {
    return { ...session, payment_intent: intentView(state, intent, ['latest_charge']) }
  }
  if (expand.includes('payment_intent')) {
    return { ...session, payment_intent: intentView(state, intent) }
  }
  return { ...session }
}

const sessionOf = ({ state, account }: Call, id: string) =>
  visible(state, state.sessions, id, account, 'checkout.session', 'session')

function expireSession(call: Call, id: string): Json {
  const session = sessionOf(call, id)
  if (session.status !== 'open') throw new StripeApiError(400, 'Only open sessions can be expired')
  session.status = 'expired'
  return session
}

/** `expand[]` as the SDK sends it (`expand[0]=…`), or a single value. */
function expandOf(params: Json): string[] {
  const expand = params.expand
  if (expand === undefined) return []
  if (typeof expand === 'string') return [expand]
  return Object.values(expand as Json).map(String)
}

type Route = [method: string, path: RegExp, run: (call: Call, id: string) => Json]

const ID = '([A-Za-z0-9_]+)'
const ROUTES: Route[] = [
  ['POST', /^\/v1\/checkout\/sessions$/, createSession],
  [
    'GET',
    new RegExp(`^/v1/checkout/sessions/${ID}$`),
    (call, id) => sessionView(call.state, sessionOf(call, id), expandOf(call.params)),
  ],
  ['POST', new RegExp(`^/v1/checkout/sessions/${ID}/expire$`), expireSession],
  ['POST', /^\/v1\/accounts$/, createAccount],
  ['GET', new RegExp(`^/v1/accounts/${ID}$`), retrieveAccount],
  ['GET', /^\/v1\/account$/, currentAccount],
  ['POST', /^\/v1\/account_links$/, createAccountLink],
  ['POST', /^\/v1\/refunds$/, createRefund],
  ['GET', /^\/v1\/refunds$/, listRefunds],
  ['GET', new RegExp(`^/v1/refunds/${ID}$`), retrieveRefund],
  [
    'GET',
    new RegExp(`^/v1/charges/${ID}$`),
    (call, id) => retrieveCharge(call, id, expandOf(call.params)),
  ],
  [
    'GET',
    new RegExp(`^/v1/payment_intents/${ID}$`),
    (call, id) => retrieveIntent(call, id, expandOf(call.params)),
  ],
  ['GET', new RegExp(`^/v1/disputes/${ID}$`), retrieveDispute],
  ['GET', new RegExp(`^/v1/application_fees/${ID}$`), retrieveApplicationFee],
]

/** Calls that must carry an Idempotency-Key here: a retried one must not open a second session. */
const DEMANDS_KEY = new Set(['/v1/checkout/sessions'])

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function handle(state: FakeState, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://fake')
  const body = await readBody(req)
  const path = url.pathname
  const method = req.method ?? 'GET'

  if (path.startsWith('/__fake/')) return control(state, method, path, body, res)

  const params = method === 'GET' ? parseForm(url.searchParams.toString()) : parseForm(body)
  const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null
  const authorization = (req.headers.authorization as string | undefined) ?? null
  const stripeAccount = (req.headers['stripe-account'] as string | undefined) ?? null
  state.requests.push({ method, path, params, idempotencyKey, authorization, stripeAccount })

  if (!authorization?.startsWith('Bearer sk_test_')) {
    throw new StripeApiError(401, 'Invalid API Key provided', { type: 'invalid_request_error' })
  }
  if (state.failNext) {
    const { status, type, times = 1 } = state.failNext
    state.failNext = times > 1 ? { status, type, times: times - 1 } : null
    throw new StripeApiError(status, 'Injected failure', { type })
  }
  // A platform acts for its connected accounts only; any other account id is refused.
  if (stripeAccount !== null && !state.accounts.has(stripeAccount)) {
    throw new StripeApiError(
      403,
      `The provided key '${authorization.slice(7, 15)}…' does not have access to account '${stripeAccount}' (or that account does not exist). Application access may have been revoked.`,
      { code: 'account_invalid' },
    )
  }
  const route = ROUTES.find(([m, pattern]) => m === method && pattern.test(path))
  if (!route) {
    throw new StripeApiError(404, `Unrecognized request URL (${method}: ${path})`)
  }

  // Stripe keeps idempotency keys per account: the same key under two accounts is two requests.
  const scope = idempotencyKey ? `${stripeAccount ?? 'platform'} ${idempotencyKey}` : null
  if (method === 'POST') {
    if (!idempotencyKey && DEMANDS_KEY.has(path)) {
      throw new StripeApiError(400, 'this fake demands an Idempotency-Key')
    }
    const seen = scope ? state.idempotency.get(scope) : undefined
    if (seen) {
      if (seen[0] !== `${path}\n${body}`) {
        throw new StripeApiError(
          400,
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          { type: 'idempotency_error' },
        )
      }
      return send(res, 200, seen[1], { 'idempotent-replayed': 'true' })
    }
  }
  const requestId = newId('req')
  const call: Call = { state, method, params, account: stripeAccount, requestId, idempotencyKey }
  const answer = route[2](call, route[1].exec(path)?.[1] ?? '')
  // Only answers are kept: a refused or failed request may be retried with the same key.
  if (method === 'POST' && scope) state.idempotency.set(scope, [`${path}\n${body}`, answer])
  send(res, 200, answer, { 'request-id': requestId })
}

const readJson = (body: string) => JSON.parse(body || '{}') as Json

function control(
  state: FakeState,
  method: string,
  path: string,
  body: string,
  res: ServerResponse,
) {
  const ok = (answer: unknown) => send(res, 200, answer)
  if (path === '/__fake/requests') return ok(state.requests)
  if (path === '/__fake/fail-next') {
    state.failNext = JSON.parse(body) as FakeState['failNext']
    return ok({ ok: true })
  }
  if (path === '/__fake/events' && method === 'POST') {
    return ok(buildEvent(state, readJson(body) as unknown as EventRequest))
  }
  // The next refund is answered `pending`, then fails (refund.failed) with this reason.
  if (path === '/__fake/refunds/fail-next') {
    const { failure_reason = 'expired_or_canceled_card' } = readJson(body)
    state.failNextRefund = { failure_reason: String(failure_reason) }
    return ok({ ok: true })
  }
  const [, kind, id = '', action] = /^\/__fake\/(\w+)\/(\w+)(?:\/([\w-]+))?$/.exec(path) ?? []
  const input = readJson(body)
  switch (`${kind}/${action ?? ''}`) {
    case 'objects/':
      return ok(inspect(state, id))
    case 'accounts/state':
      return ok(setAccountState(state, id, input as Parameters<typeof setAccountState>[2]))
    case 'refunds/fail':
      return ok(failRefund(state, id, input.failure_reason as string | undefined))
    case 'charges/dispute':
      return ok(openDispute(state, id, input as Parameters<typeof openDispute>[2]))
    case 'disputes/status':
      return ok(setDisputeStatus(state, id, String(input.status)))
  }
  const session = kind === 'sessions' ? state.sessions.get(id) : undefined
  if (!session) throw missing('control path or session', path)
  if (action === 'complete') {
    // The customer finished Checkout: `paid` for cards, `unpaid` for delayed methods (SEPA…).
    const { payment_status = 'paid', email = 'customer@example.com' } = input
    session.status = 'complete'
    session.payment_status = payment_status
    session.customer_details = { email }
    completeSession(state, session, String(payment_status), String(email))
  }
  // A delayed payment (SEPA…) that the bank refused: the intent needs a new payment method.
  if (action === 'fail-intent') failIntent(state, session)
  // Stripe closed the session at its expires_at (no webhook is sent from here).
  if (action === 'expire') session.status = 'expired'
  return ok(session)
}

/** Any object by id, whoever owns it, with its owner: for tests to look behind the API. */
function inspect(state: FakeState, id: string) {
  for (const map of [
    state.sessions,
    state.paymentIntents,
    state.charges,
    state.refunds,
    state.disputes,
    state.applicationFees,
    state.accounts,
  ]) {
    const object = map.get(id)
    if (object) return { object, owner: state.owners.get(id) ?? null }
  }
  throw missing('object', id)
}

export async function startFakeStripe(): Promise<{ server: Server; port: number }> {
  const state = newState()
  const server = createServer((req, res) => {
    handle(state, req, res).catch((err) => {
      if (err instanceof StripeApiError) return send(res, err.status, err.body)
      send(res, 500, new StripeApiError(500, String(err), { type: 'api_error' }).body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}
