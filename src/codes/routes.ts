/** `/api/v1/codes`: create, read, list, update and archive codes, and list a code's scans. */
import { z } from '@hono/zod-openapi'
import {
  type Api,
  apiRoute,
  conflict,
  json,
  jsonBody,
  notConfigured,
  security,
} from '../api/factory'
import type { Db } from '../db/client'
import type { Bindings } from '../env'
import { ApiError, notFound } from '../errors'
import { listPage } from '../lib/cursor'
import { listOf, PageQuery } from '../lib/paging'
import { publicBase } from '../lib/urls'
import { payability } from '../money/payment-mode'
import { findMerchantAccount } from '../payments/accounts'
import { forgetCode } from './cache'
import { presentCode, presentScan } from './present'
import { getCode, listCodeChanges, listCodes, listScans } from './queries'
import { destinationRules } from './rules'
import { CodeId, CodeObject, CreateCode, ListCodesQuery, ScanObject, UpdateCode } from './schemas'
import { changeCode, createCodeFor } from './service'

const tags = ['Codes']
const params = z.object({ id: CodeId })

const createCode = apiRoute({
  method: 'post',
  path: '/codes',
  operationId: 'createCode',
  tags,
  security,
  scope: 'codes:write',
  summary: 'Create a code',
  request: { body: jsonBody(CreateCode) },
  responses: {
    201: json(CodeObject, 'The new code.'),
    409: conflict,
    503: notConfigured,
  },
})

const getCodeRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}',
  operationId: 'getCode',
  tags,
  security,
  scope: 'codes:read',
  summary: 'Get a code',
  request: { params },
  responses: { 200: json(CodeObject, 'The code.'), 503: notConfigured },
})

const listCodesRoute = apiRoute({
  method: 'get',
  path: '/codes',
  operationId: 'listCodes',
  tags,
  security,
  scope: 'codes:read',
  summary: 'List codes, newest first',
  request: { query: ListCodesQuery },
  responses: { 200: json(listOf(CodeObject, 'CodeList'), 'A page of codes.'), 503: notConfigured },
})

const updateCodeRoute = apiRoute({
  method: 'patch',
  path: '/codes/{id}',
  operationId: 'updateCode',
  tags,
  security,
  scope: 'codes:write',
  summary: 'Update a dynamic code',
  description:
    'Changes take effect for every scanner within the cache bound (see README). Static codes accept only status, expiry, metadata and reference.',
  request: { params, body: jsonBody(UpdateCode) },
  responses: { 200: json(CodeObject, 'The updated code.'), 409: conflict, 503: notConfigured },
})

const archiveCodeRoute = apiRoute({
  method: 'delete',
  path: '/codes/{id}',
  operationId: 'archiveCode',
  tags,
  security,
  scope: 'codes:write',
  summary: 'Archive a code',
  description: 'Archiving is final: the short URL answers 410 Gone from then on. Idempotent.',
  request: { params },
  responses: { 200: json(CodeObject, 'The archived code.'), 409: conflict, 503: notConfigured },
})

const listScansRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}/scans',
  operationId: 'listScans',
  tags,
  security,
  scope: 'stats:read',
  summary: "List a code's scans, newest first",
  request: { params, query: PageQuery },
  responses: { 200: json(listOf(ScanObject, 'ScanList'), 'A page of scans.') },
})

const ChangeObject = z
  .object({
    id: z.string(),
    object: z.literal('code_change'),
    field: z.string().openapi({ example: 'destination_url' }),
    old_value: z.string().nullable(),
    new_value: z.string().nullable(),
    actor: z.string().openapi({
      description:
        'Who: `api_key:key_…`, or `admin:key_…` / `admin:link` (the admin, signed in with that key or with a sign-in link).',
    }),
    version: z.number().int().openapi({ description: "The code's version after the change." }),
    changed_at: z.string(),
  })
  .openapi('CodeChange')

const listChangesRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}/changes',
  operationId: 'listCodeChanges',
  tags,
  security,
  scope: 'codes:read',
  summary: "A code's audit log: every change of destination, amount, status…, newest first",
  request: { params, query: PageQuery },
  responses: {
    200: json(listOf(ChangeObject, 'CodeChangeList'), 'A page of changes.'),
  },
})

/** Whether the merchant's codes can be paid now, for `payable` on each code (one D1 read). */
async function payeeOf(env: Bindings, db: Db, merchantId: string) {
  const account = await findMerchantAccount(db, merchantId)
  return payability(env, account ?? { stripeAccountId: null, stripeChargesEnabled: false })
}

export function registerCodeRoutes(api: Api) {
  api.openapi(listChangesRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const page = await listPage(
      c.req.valid('query'),
      (p) => listCodeChanges(c.var.db, code.id, p),
      (r) => ({ at: r.changedAt, id: r.id }),
      (r) => ({
        id: r.id,
        object: 'code_change' as const,
        field: r.field,
        old_value: r.oldValue,
        new_value: r.newValue,
        actor: r.actor,
        version: r.version,
        changed_at: new Date(r.changedAt).toISOString(),
      }),
    )
    return c.json(page, 200)
  })

  api.openapi(createCode, async (c) => {
    // Before the write: an answer that cannot carry the code's URL (503) must store nothing.
    const base = publicBase(c.env, c.req.url)
    const rules = destinationRules(c.env)
    const code = await createCodeFor(c.var.db, c.var.auth.merchantId, c.req.valid('json'), rules)
    await forgetCode(code.slug, new URL(c.req.url).origin)
    const payee = await payeeOf(c.env, c.var.db, c.var.auth.merchantId)
    return c.json(presentCode(code, base, payee), 201)
  })

  api.openapi(getCodeRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const payee = await payeeOf(c.env, c.var.db, c.var.auth.merchantId)
    return c.json(presentCode(code, publicBase(c.env, c.req.url), payee), 200)
  })

  api.openapi(listCodesRoute, async (c) => {
    const q = c.req.valid('query')
    const base = publicBase(c.env, c.req.url)
    const payee = await payeeOf(c.env, c.var.db, c.var.auth.merchantId)
    const page = await listPage(
      q,
      (p) =>
        listCodes(c.var.db, c.var.auth.merchantId, { status: q.status, action: q.action, ...p }),
      (r) => ({ at: r.createdAt, id: r.id }),
      (r) => presentCode(r, base, payee),
    )
    return c.json(page, 200)
  })

  api.openapi(updateCodeRoute, async (c) => {
    const base = publicBase(c.env, c.req.url)
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const { version, ...patch } = c.req.valid('json')
    if (version !== undefined && version !== code.version) {
      throw new ApiError(
        409,
        'version_conflict',
        `The code is at version ${code.version}, not ${version}: read it again before changing it.`,
      )
    }
    const actor = `api_key:${c.var.auth.apiKeyId}`
    const updated = await changeCode(c.var.db, code, patch, actor, destinationRules(c.env))
    await forgetCode(code.slug, new URL(c.req.url).origin)
    const payee = await payeeOf(c.env, c.var.db, c.var.auth.merchantId)
    return c.json(presentCode(updated, base, payee), 200)
  })

  api.openapi(archiveCodeRoute, async (c) => {
    const base = publicBase(c.env, c.req.url)
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const archived =
      code.status === 'archived'
        ? code
        : await changeCode(c.var.db, code, { status: 'archived' }, `api_key:${c.var.auth.apiKeyId}`)
    await forgetCode(code.slug, new URL(c.req.url).origin)
    const payee = await payeeOf(c.env, c.var.db, c.var.auth.merchantId)
    return c.json(presentCode(archived, base, payee), 200)
  })

  api.openapi(listScansRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const page = await listPage(
      c.req.valid('query'),
      (p) => listScans(c.var.db, code.id, p),
      (r) => ({ at: r.scannedAt, id: r.id }),
      presentScan,
    )
    return c.json(page, 200)
  })
}
