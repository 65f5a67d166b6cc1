/**
 * Scoped API keys: every operation under the API key refuses a key without its scope (403
 * `insufficient_scope`, the scope named) and lets a key with only that scope through; keys grant
 * no more than they hold; keys made without scopes (all keys from before them) keep full access.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/auth/queries'
import { SCOPES, type Scope } from '../../src/auth/scopes'
import { createDb } from '../../src/db/client'
import { call, createCode, newMerchant, problemOf } from '../helpers'

let merchant: Awaited<ReturnType<typeof newMerchant>>
let codeId: string

/** A key of the merchant's holding exactly `scopes` (null: full access). */
async function keyWith(scopes: Scope[] | null) {
  return (await createApiKey(createDb(env.DB), merchant.merchantId, 'scoped', scopes)).key
}

beforeAll(async () => {
  merchant = await newMerchant()
  codeId = (
    await createCode(merchant.key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Coffee',
    })
  ).id
})

interface Operation {
  method: string
  /** As the OpenAPI document writes it. */
  path: string
  scope: Scope
  /** The request a key with the scope sends (`{id}` is filled in). */
  url?: () => string
  json?: unknown
  /** Sent instead of `method` by a key with the scope (HEAD opens no stream on a feed). */
  as?: string
}

const PAY = 'pay_0000000000000000000000'
/** Every operation under the API key, and the scope it needs (docs/api.md has the same table). */
const MATRIX: Operation[] = [
  {
    method: 'post',
    path: '/codes',
    scope: 'codes:write',
    json: { action: 'redirect', destination_url: 'https://a.example' },
  },
  { method: 'get', path: '/codes', scope: 'codes:read' },
  { method: 'get', path: '/codes/{id}', scope: 'codes:read' },
  { method: 'patch', path: '/codes/{id}', scope: 'codes:write', json: { description: 'Tea' } },
  { method: 'get', path: '/codes/{id}/changes', scope: 'codes:read' },
  { method: 'get', path: '/codes/{id}/scans', scope: 'stats:read' },
  { method: 'get', path: '/codes/{id}/stats', scope: 'stats:read' },
  { method: 'get', path: '/codes/{id}/scans.csv', scope: 'stats:read' },
  { method: 'get', path: '/codes/{id}/live', scope: 'stats:read' },
  { method: 'get', path: '/codes/{id}/events', scope: 'stats:read', as: 'HEAD' },
  { method: 'post', path: '/codes/{id}/live-token', scope: 'stats:read' },
  { method: 'get', path: '/payments', scope: 'payments:read' },
  { method: 'get', path: '/payments/{id}', scope: 'payments:read', url: () => `/payments/${PAY}` },
  {
    method: 'get',
    path: '/payments/{id}/refunds',
    scope: 'payments:read',
    url: () => `/payments/${PAY}/refunds`,
  },
  {
    method: 'post',
    path: '/payments/{id}/refunds',
    scope: 'payments:write',
    url: () => `/payments/${PAY}/refunds`,
    json: {},
  },
  { method: 'get', path: '/account', scope: 'payments:read' },
  { method: 'get', path: '/api-keys', scope: 'keys:read' },
  // A key can only grant what it holds: the new key asks for no more than this one has.
  { method: 'post', path: '/api-keys', scope: 'keys:write', json: { scopes: ['keys:write'] } },
  {
    method: 'delete',
    path: '/api-keys/{id}',
    scope: 'keys:write',
    url: () => '/api-keys/key_000000000000000000000',
  },
  // Last: it archives the code the others use.
  { method: 'delete', path: '/codes/{id}', scope: 'codes:write' },
]

const send = (op: Operation, key: string, allowed = true) =>
  call(`/api/v1${op.url?.() ?? op.path.replace('{id}', codeId)}`, {
    key,
    method: (allowed && op.as) || op.method.toUpperCase(),
    json: op.json,
  })

describe('scoped API keys: the scope matrix', () => {
  it('covers every operation under the API key, as the OpenAPI document declares them', async () => {
    const spec = (await (await call('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { 'x-scopes'?: string[]; security?: Record<string, string[]>[] }>
      >
    }
    const declared: string[] = []
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op.security?.some((req) => 'bearer' in req)) continue
        const bearer = op.security.find((req) => 'bearer' in req)?.bearer
        expect(op['x-scopes'], `${method} ${path}`).toEqual(bearer)
        declared.push(`${method} ${path.replace('/api/v1', '')} ${op['x-scopes']?.join(' ')}`)
      }
    }
    const table = MATRIX.map((op) => `${op.method} ${op.path} ${op.scope}`)
    expect(table.sort()).toEqual(declared.sort())
  })

  for (const op of MATRIX) {
    it(`${op.method.toUpperCase()} ${op.path} needs ${op.scope}`, async () => {
      const without = await send(op, await keyWith(SCOPES.filter((s) => s !== op.scope)), false)
      expect(without.status).toBe(403)
      const problem = await problemOf(without)
      expect(problem.code).toBe('insufficient_scope')
      expect(problem.detail).toContain(`\`${op.scope}\``)

      const only = await send(op, await keyWith([op.scope]))
      expect([401, 403]).not.toContain(only.status)
      await only.body?.cancel()
    })
  }
})

describe('scoped API keys: creating them', () => {
  const create = (key: string, json: unknown) => call('/api/v1/api-keys', { key, json })

  it('creates a key with a subset of scopes, which it shows and is held to', async () => {
    const response = await create(merchant.key, {
      name: 'POS',
      scopes: ['codes:read', 'payments:read', 'codes:read'],
    })
    expect(response.status).toBe(201)
    const created = (await response.json()) as { key: string; id: string; scopes: string[] }
    expect(created.scopes).toEqual(['codes:read', 'payments:read'])
    expect((await call('/api/v1/codes', { key: created.key })).status).toBe(200)
    expect((await call('/api/v1/payments', { key: created.key })).status).toBe(200)
    const write = await call('/api/v1/codes', {
      key: created.key,
      json: { action: 'redirect', destination_url: 'https://a.example' },
    })
    expect(write.status).toBe(403)
    expect((await problemOf(write)).detail).toContain('`codes:write`')
    const listed = (await (await call('/api/v1/api-keys', { key: merchant.key })).json()) as {
      data: { id: string; scopes: string[] | null }[]
    }
    expect(listed.data.find((k) => k.id === created.id)?.scopes).toEqual([
      'codes:read',
      'payments:read',
    ])
  })

  it('refuses unknown and empty scope lists', async () => {
    expect((await create(merchant.key, { scopes: ['codes:delete'] })).status).toBe(400)
    expect((await create(merchant.key, { scopes: [] })).status).toBe(400)
  })

  it('never grants a scope the creating key lacks, full access included', async () => {
    const minter = await keyWith(['keys:write', 'codes:read'])
    const escalate = await create(minter, { scopes: ['codes:read', 'payments:write'] })
    expect(escalate.status).toBe(403)
    const problem = await problemOf(escalate)
    expect(problem.code).toBe('insufficient_scope')
    expect(problem.detail).toContain('`payments:write`')
    // Asking for full access is asking for every scope.
    const full = await create(minter, { name: 'everything' })
    expect(full.status).toBe(403)
    expect((await problemOf(full)).code).toBe('insufficient_scope')
    // Within its own scopes it may.
    const subset = await create(minter, { scopes: ['codes:read'] })
    expect(subset.status).toBe(201)
  })

  it('keeps full access for keys made without scopes (every key from before them)', async () => {
    // As migration 0015 leaves an existing key: its scopes column NULL.
    const row = await env.DB.prepare('select scopes from api_keys where id = ?')
      .bind(merchant.keyId)
      .first<{ scopes: string | null }>()
    expect(row?.scopes).toBeNull()
    for (const op of MATRIX.filter((o) => o.path !== '/codes/{id}' || o.method !== 'delete')) {
      const response = await send(op, merchant.key)
      expect(response.status, `${op.method} ${op.path}`).not.toBe(403)
      await response.body?.cancel()
    }
    const listed = (await (
      await call('/api/v1/api-keys?limit=100', { key: merchant.key })
    ).json()) as { data: { id: string; scopes: string[] | null }[] }
    expect(listed.data.find((k) => k.id === merchant.keyId)?.scopes).toBeNull()
  })
})
