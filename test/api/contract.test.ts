/**
 * The published contract is true: every API operation is called (success and typical errors),
 * and each answer's status must be one the operation declares in `/openapi.json`, its content
 * type a declared one, and its JSON body valid against the declared schema, with no field the
 * schema does not name (@cfworker/json-schema, draft 2020-12, as OpenAPI 3.1 uses); a header
 * the answer declares as required must be there.
 */

import { type Schema, Validator } from '@cfworker/json-schema'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { chooseOutcome, pay } from '../checkout/support'
import {
  type CallOptions,
  call,
  flushHub,
  IPHONE,
  newMerchant,
  statsHubUnreachable,
} from '../helpers'

interface Operation {
  responses: Record<
    string,
    {
      content?: Record<string, { schema?: Schema }>
      headers?: Record<string, { required?: boolean }>
    }
  >
}
interface Spec {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}

let spec: Spec
/** "GET /api/v1/codes/{id}" → the statuses seen. */
const seen = new Map<string, Set<number>>()

beforeAll(async () => {
  spec = (await (await call('/openapi.json')).json()) as Spec
})

/** Components extended by others (`allOf`): closing them would refuse their extensions' fields. */
function extended(components: Record<string, Schema>): Set<string> {
  const names = new Set<string>()
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return
    const all = (node as { allOf?: { $ref?: string }[] }).allOf
    for (const part of all ?? []) if (part.$ref) names.add(part.$ref.split('/').pop() ?? '')
    for (const value of Object.values(node)) walk(value)
  }
  walk(components)
  return names
}

/**
 * A schema where every object names all its fields (`unevaluatedProperties: false`, which also
 * counts fields an `allOf` part names): an undeclared field fails validation.
 */
function closed(schema: unknown, open = new Set<string>(), name = '', part = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => closed(item, open, '', name === 'allOf'))
  if (!schema || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'example' || key === 'default') out[key] = value
    else if (key === 'schemas' && name === 'components') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([component, s]) => [
          component,
          open.has(component) ? s : closed(s, open),
        ]),
      )
    } else out[key] = closed(value, open, key)
  }
  // An `allOf` part is closed by the schema that combines it, which sees all the parts' fields;
  // a component left open for that is closed where it is used on its own.
  const ref = typeof out.$ref === 'string' ? out.$ref.split('/').pop() : undefined
  const openRef = ref !== undefined && open.has(ref)
  if (
    !part &&
    ('properties' in out || 'allOf' in out || openRef) &&
    !('additionalProperties' in out)
  ) {
    out.unevaluatedProperties = false
  }
  return out
}

/**
 * Calls `path` as `operation` ("PATCH /api/v1/codes/{id}") and checks the answer against the
 * operation's declaration; returns the response, its body read when it is JSON.
 */
async function conforming(operation: string, path: string, options: CallOptions = {}) {
  const [method = '', template = ''] = operation.split(' ')
  const declared = spec.paths[template]?.[method.toLowerCase()]
  expect(declared, `${operation} is not in the spec`).toBeDefined()
  const response = await call(path, { ...options, method })
  const label = `${operation} → ${response.status}`
  seen.set(operation, (seen.get(operation) ?? new Set()).add(response.status))
  const answer = declared?.responses[String(response.status)]
  expect(answer, `${label} is not a declared response`).toBeDefined()
  for (const [name, header] of Object.entries(answer?.headers ?? {})) {
    if (header.required) expect(response.headers.has(name), `${label} lacks ${name}`).toBe(true)
  }
  const type = response.headers.get('content-type')?.split(';')[0]?.trim() ?? null
  const content = answer?.content
  if (!content) {
    if (response.status !== 101) {
      expect(await response.text(), `${label} has a body it does not declare`).toBe('')
    }
    return { response, body: undefined }
  }
  expect(Object.keys(content), label).toContain(type)
  if (!type?.includes('json')) return { response, body: undefined }
  const body = await response.json()
  const schema = content[type]?.schema
  expect(schema, label).toBeDefined()
  const root = closed(
    { ...schema, components: spec.components },
    extended(spec.components.schemas),
  ) as Schema
  const result = new Validator(root, '2020-12', false).validate(body)
  expect(
    result.errors.filter((e) => e.keyword !== 'properties' && e.keyword !== '$ref'),
    `${label}: ${JSON.stringify(body).slice(0, 300)}`,
  ).toEqual([])
  return { response, body: body as Record<string, unknown> }
}

describe('the API answers as /openapi.json says', () => {
  it('for every operation, its successes and typical errors', async () => {
    const { key } = await newMerchant('Contract Café')
    const other = await newMerchant('Someone Else')
    const codes = '/api/v1/codes'

    // Codes.
    const created = await conforming(`POST ${codes}`, codes, {
      key,
      json: {
        action: 'redirect',
        destination_url: 'https://example.com/menu',
        slug: 'contract-menu',
        metadata: { table: '12' },
      },
    })
    expect(created.response.status).toBe(201)
    const redirect = created.body as { id: string; slug: string; version: number }
    const checkout = (
      await conforming(`POST ${codes}`, codes, {
        key,
        json: { action: 'checkout', currency: 'eur', amount: 450, description: 'Flat white' },
      })
    ).body as { id: string; slug: string }
    await conforming(`POST ${codes}`, codes, {
      key,
      json: {
        action: 'checkout',
        currency: 'eur',
        amount_min: 100,
        amount_max: 5000,
        description: 'Tip',
        expires_at: '2099-01-01T00:00:00Z',
      },
    })
    await conforming(`POST ${codes}`, codes, { key, json: { action: 'redirect' } })
    await conforming(`POST ${codes}`, codes, {
      key,
      json: { action: 'redirect', destination_url: 'https://example.com', slug: 'contract-menu' },
    })
    await conforming(`POST ${codes}`, codes, {
      key,
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    })
    await conforming(`POST ${codes}`, codes, { key, json: { description: 'x'.repeat(20_000) } })
    await conforming(`POST ${codes}`, codes, { json: { action: 'redirect' } })
    await conforming(`POST ${codes}`, codes, {
      key,
      json: { action: 'redirect', destination_url: 'https://example.com' },
      env: {
        API_WRITE_LIMITER: { limit: async () => ({ success: false }) } as unknown as RateLimit,
      },
    })
    // Idempotency-Key: a retry replays the first answer; another body under the key is a 422.
    const retried = { key, headers: { 'idempotency-key': 'contract-retry' } }
    const retry = { action: 'redirect', destination_url: 'https://example.com/retry' }
    const firstTry = await conforming(`POST ${codes}`, codes, { ...retried, json: retry })
    const replay = await conforming(`POST ${codes}`, codes, { ...retried, json: retry })
    expect(replay.response.status).toBe(201)
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true')
    expect(replay.body).toEqual(firstTry.body)
    const reused = await conforming(`POST ${codes}`, codes, {
      ...retried,
      json: { ...retry, destination_url: 'https://example.com/other' },
    })
    expect(reused.response.status).toBe(422)
    await conforming(`POST ${codes}`, codes, {
      key,
      headers: { 'idempotency-key': '' },
      json: retry,
    })

    await conforming(`GET ${codes}`, `${codes}?limit=1`, { key })
    await conforming(`GET ${codes}`, `${codes}?limit=0`, { key })
    const one = `${codes}/{id}`
    await conforming(`GET ${one}`, `${codes}/${redirect.id}`, { key })
    await conforming(`GET ${one}`, `${codes}/${redirect.id}`, { key: other.key })
    await conforming(`PATCH ${one}`, `${codes}/${redirect.id}`, {
      key,
      json: { destination_url: 'https://example.com/new', version: redirect.version },
    })
    await conforming(`PATCH ${one}`, `${codes}/${redirect.id}`, {
      key,
      json: { destination_url: 'https://example.com/newer', version: redirect.version },
    })

    // A scan, a payment, and what reads them.
    expect((await call(`/${redirect.slug}`, { headers: { 'user-agent': IPHONE } })).status).toBe(
      302,
    )
    await flushHub(redirect.id)
    const pressed = await pay(checkout.slug)
    await chooseOutcome(pressed.headers.get('location') ?? '', 'paid')
    await conforming(`GET ${one}/scans`, `${codes}/${redirect.id}/scans`, { key })
    await conforming(`GET ${one}/changes`, `${codes}/${redirect.id}/changes?limit=5`, { key })
    await conforming(`GET ${one}/stats`, `${codes}/${redirect.id}/stats`, { key })
    await conforming(`GET ${one}/stats`, `${codes}/${redirect.id}/stats?interval=year`, { key })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const stale = await conforming(`GET ${one}/stats`, `${codes}/${redirect.id}/stats`, {
        key,
        env: { CODE_HUB: statsHubUnreachable() },
      })
      expect(stale.response.status).toBe(503)
    } finally {
      error.mockRestore()
    }
    await conforming(`GET ${one}/scans.csv`, `${codes}/${redirect.id}/scans.csv`, { key })
    const payments = '/api/v1/payments'
    const list = await conforming(`GET ${payments}`, `${payments}?code_id=${checkout.id}`, { key })
    const [payment] = (list.body?.data ?? []) as { id: string; status: string }[]
    expect(payment?.status).toBe('paid')
    await conforming(`GET ${payments}/{id}`, `${payments}/${payment?.id}`, { key })
    await conforming(`GET ${payments}/{id}`, `${payments}/${payment?.id}`, { key: other.key })
    const refunds = `${payments}/{id}/refunds`
    const refundsOf = `${payments}/${payment?.id}/refunds`
    await conforming(`POST ${refunds}`, refundsOf, { key, json: { amount: 100 } })
    await conforming(`POST ${refunds}`, refundsOf, { key, json: { amount: 1_000_000 } })
    await conforming(`POST ${refunds}`, refundsOf, { key: other.key, json: {} })
    await conforming(`GET ${refunds}`, refundsOf, { key })
    await conforming(`GET ${payments}/{id}`, `${payments}/${payment?.id}`, { key })

    // The payment account.
    await conforming('GET /api/v1/account', '/api/v1/account', { key })
    await conforming('GET /api/v1/account', '/api/v1/account', {
      key,
      env: { PAYMENT_MODE: 'platform' },
    })
    await conforming('GET /api/v1/account', '/api/v1/account?x=1', { key })

    // The live feed.
    await conforming(`POST ${one}/live-token`, `${codes}/${redirect.id}/live-token`, { key })
    await conforming(`POST ${one}/live-token`, `${codes}/${redirect.id}/live-token`, {
      key,
      env: { LIVE_TOKEN_SECRET: '' },
    })
    await conforming(`GET ${one}/live`, `${codes}/${redirect.id}/live`, { key })
    const socket = await conforming(`GET ${one}/live`, `${codes}/${redirect.id}/live`, {
      key,
      headers: { upgrade: 'websocket' },
    })
    expect(socket.response.status).toBe(101)
    socket.response.webSocket?.accept()
    socket.response.webSocket?.close()
    const events = await conforming(`GET ${one}/events`, `${codes}/${redirect.id}/events`, { key })
    expect(events.response.status).toBe(200)
    await events.response.body?.cancel()
    await conforming(`GET ${one}/events`, `${codes}/${redirect.id}/events?token=nope`)

    // API keys.
    const keys = '/api/v1/api-keys'
    const newKey = await conforming(`POST ${keys}`, keys, { key, json: { name: 'POS' } })
    await conforming(`POST ${keys}`, keys, { key })
    await conforming(`GET ${keys}`, keys, { key })
    await conforming(`DELETE ${keys}/{id}`, `${keys}/${newKey.body?.id}`, { key })
    await conforming(`DELETE ${keys}/{id}`, `${keys}/key_0000000000000000000000`, { key })

    await conforming(`DELETE ${one}`, `${codes}/${redirect.id}`, { key })
    await conforming(`DELETE ${one}`, `${codes}/${redirect.id}`, { key: other.key })

    // QR images (public).
    const qr = '/qr/{file}'
    const svg = await conforming(`GET ${qr}`, `/qr/${checkout.slug}.svg`)
    const etag = svg.response.headers.get('etag') ?? ''
    await conforming(`GET ${qr}`, `/qr/${checkout.slug}.svg`, {
      headers: { 'if-none-match': etag },
    })
    await conforming(`GET ${qr}`, `/qr/${checkout.slug}.svg?fg=%23eeeeee`)
    await conforming(`GET ${qr}`, '/qr/no-such-code.svg')
    const png = await conforming(`GET ${qr}`, `/qr/${checkout.slug}.png?size=256`)
    await conforming(`GET ${qr}`, `/qr/${checkout.slug}.png?size=256`, {
      headers: { 'if-none-match': png.response.headers.get('etag') ?? '' },
    })
    await conforming(`GET ${qr}`, `/qr/${checkout.slug}.png?size=4096`)

    // Every operation was called, and answered with a success at least once.
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    )
    for (const operation of operations) {
      expect(
        [...(seen.get(operation) ?? [])].some((s) => s < 300),
        operation,
      ).toBe(true)
    }
  })
})
