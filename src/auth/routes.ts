/** `/api/v1/api-keys`: a merchant's keys. A new key's secret is in the create response only. */
import { z } from '@hono/zod-openapi'
import { type Api, apiRoute, json, jsonBody, security } from '../api/factory'
import { notFound } from '../errors'
import { listPage } from '../lib/cursor'
import { listOf, PageQuery } from '../lib/paging'
import { text } from '../lib/text'
import { createApiKey, listApiKeys, revokeApiKey } from './queries'
import { decodeGrant, type Grant, hasScope, insufficientScope, SCOPES } from './scopes'

const tags = ['API keys']
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const ApiKeyObject = z
  .object({
    id: z.string().openapi({ example: 'key_9dJ2aQ7mX4pL0sT1vB6nC3' }),
    object: z.literal('api_key'),
    name: z.string(),
    last4: z.string(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    scopes: z.array(z.enum(SCOPES)).nullable().openapi({
      description:
        'What the key may do. `null`: full access, every scope including ones added later (keys made without `scopes`, and all keys made before scopes existed).',
    }),
  })
  .openapi('ApiKey')

const NewApiKeyObject = ApiKeyObject.extend({
  key: z
    .string()
    .openapi({ description: 'The secret. Shown only in this response; store it now.' }),
}).openapi('NewApiKey')

const KeyId = z
  .string()
  .regex(/^key_[0-9A-Za-z]{1,64}$/, 'not an API key id')
  .openapi({ param: { name: 'id', in: 'path' } })

const CreateApiKey = z
  .strictObject({
    name: text().trim().min(1).max(100).default('API key'),
    scopes: z.array(z.enum(SCOPES)).min(1).optional().openapi({
      description:
        'Limit the key to these scopes; omitted, it has full access. A key can only grant scopes it has itself (else 403 `insufficient_scope`).',
    }),
  })
  .openapi('CreateApiKey')

type KeyRow = Awaited<ReturnType<typeof listApiKeys>>[number]
const present = (k: Omit<KeyRow, 'scopes'> & { scopes: Grant | string }) => ({
  id: k.id,
  object: 'api_key' as const,
  name: k.name,
  last4: k.last4,
  created_at: new Date(k.createdAt).toISOString(),
  last_used_at: iso(k.lastUsedAt),
  revoked_at: iso(k.revokedAt),
  scopes: typeof k.scopes === 'string' ? decodeGrant(k.scopes) : k.scopes,
})

/**
 * A key grants only what its creator holds: a full-access key anything, a scoped one a subset of
 * its own scopes (asking for full access included). The first scope it lacks is named.
 */
function refuseEscalation(creator: readonly string[] | null, wanted: Grant) {
  if (creator === null) return
  const missing = (wanted ?? SCOPES).find((scope) => !hasScope(creator, scope))
  if (missing)
    throw insufficientScope(
      missing,
      `A key can only grant scopes it holds: granting \`${missing}\``,
    )
}

export function registerApiKeyRoutes(api: Api) {
  api.openapi(
    apiRoute({
      method: 'post',
      path: '/api-keys',
      operationId: 'createApiKey',
      tags,
      security,
      scope: 'keys:write',
      summary: 'Create an API key',
      request: { body: jsonBody(CreateApiKey) },
      responses: { 201: json(NewApiKeyObject, 'The new key, with its secret.') },
    }),
    async (c) => {
      const { name, scopes } = c.req.valid('json')
      const wanted = scopes ? SCOPES.filter((scope) => scopes.includes(scope)) : null
      refuseEscalation(c.var.auth.scopes, wanted)
      const created = await createApiKey(c.var.db, c.var.auth.merchantId, name, wanted)
      const view = present({ ...created, lastUsedAt: null, revokedAt: null })
      return c.json({ ...view, key: created.key }, 201)
    },
  )

  api.openapi(
    apiRoute({
      method: 'get',
      path: '/api-keys',
      operationId: 'listApiKeys',
      tags,
      security,
      scope: 'keys:read',
      summary: "List the merchant's API keys, newest first (revoked ones too)",
      request: { query: PageQuery },
      responses: {
        200: json(listOf(ApiKeyObject, 'ApiKeyList'), 'A page of keys.'),
      },
    }),
    async (c) => {
      const page = await listPage(
        c.req.valid('query'),
        (p) => listApiKeys(c.var.db, c.var.auth.merchantId, p),
        (k) => ({ at: k.createdAt, id: k.id }),
        present,
      )
      return c.json(page, 200)
    },
  )

  api.openapi(
    apiRoute({
      method: 'delete',
      path: '/api-keys/{id}',
      operationId: 'revokeApiKey',
      tags,
      security,
      scope: 'keys:write',
      summary: 'Revoke an API key',
      description: 'Takes effect on the next request. Idempotent.',
      request: { params: z.object({ id: KeyId }) },
      responses: { 200: json(ApiKeyObject, 'The revoked key.') },
    }),
    async (c) => {
      const { merchantId } = c.var.auth
      const key = await revokeApiKey(c.var.db, merchantId, c.req.valid('param').id, Date.now())
      if (!key) throw notFound('API key')
      return c.json(present(key), 200)
    },
  )
}
