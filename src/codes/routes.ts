/** `/api/v1/codes`: create, read, list, update and archive codes, and list a code's scans. */
import { createRoute, z } from '@hono/zod-openapi'
import { and, desc, eq, lt, or } from 'drizzle-orm'
import { type Api, conflict, errorResponses, json, jsonBody, security } from '../api/factory'
import { type Code, scans } from '../db/schema'
import { ApiError, notFound } from '../errors'
import { decodeCursor, paginate } from '../lib/cursor'
import { newId, randomSlug } from '../lib/ids'
import { publicBase } from '../lib/urls'
import { forgetCode } from '../scan/resolve'
import { presentCode, presentScan } from './present'
import { getCode, insertCode, listCodes, updateCode } from './queries'
import { CONTENT_FIELDS, type CodeContent, checkContent, normalizeSlug } from './rules'
import {
  CodeId,
  CodeObject,
  CreateCode,
  type CreateCodeInput,
  ListCodesQuery,
  listOf,
  PageQuery,
  ScanObject,
  UpdateCode,
  type UpdateCodeInput,
} from './schemas'

const tags = ['Codes']
const params = z.object({ id: CodeId })

const createCode = createRoute({
  method: 'post',
  path: '/codes',
  tags,
  security,
  summary: 'Create a code',
  request: { body: jsonBody(CreateCode) },
  responses: {
    201: json(CodeObject, 'The new code.'),
    ...errorResponses,
    409: conflict,
  },
})

const getCodeRoute = createRoute({
  method: 'get',
  path: '/codes/{id}',
  tags,
  security,
  summary: 'Get a code',
  request: { params },
  responses: { 200: json(CodeObject, 'The code.'), ...errorResponses },
})

const listCodesRoute = createRoute({
  method: 'get',
  path: '/codes',
  tags,
  security,
  summary: 'List codes, newest first',
  request: { query: ListCodesQuery },
  responses: { 200: json(listOf(CodeObject, 'CodeList'), 'A page of codes.'), ...errorResponses },
})

const updateCodeRoute = createRoute({
  method: 'patch',
  path: '/codes/{id}',
  tags,
  security,
  summary: 'Update a dynamic code',
  description:
    'Changes take effect for every scanner within the cache bound (see README). Static codes accept only status, expiry, metadata and reference.',
  request: { params, body: jsonBody(UpdateCode) },
  responses: { 200: json(CodeObject, 'The updated code.'), ...errorResponses, 409: conflict },
})

const archiveCodeRoute = createRoute({
  method: 'delete',
  path: '/codes/{id}',
  tags,
  security,
  summary: 'Archive a code',
  description: 'Archiving is final: the short URL answers 410 Gone from then on. Idempotent.',
  request: { params },
  responses: { 200: json(CodeObject, 'The archived code.'), ...errorResponses },
})

const listScansRoute = createRoute({
  method: 'get',
  path: '/codes/{id}/scans',
  tags,
  security,
  summary: "List a code's scans, newest first",
  request: { params, query: PageQuery },
  responses: { 200: json(listOf(ScanObject, 'ScanList'), 'A page of scans.'), ...errorResponses },
})

export function registerCodeRoutes(api: Api) {
  api.openapi(createCode, async (c) => {
    const input = c.req.valid('json')
    const base = publicBase(c.env, c.req.url)
    const content = checkContent(contentOf(input))
    const now = Date.now()
    const code: Code = {
      id: newId('code'),
      merchantId: c.var.auth.merchantId,
      slug: input.slug ? normalizeSlug(input.slug) : randomSlug(),
      mode: input.mode,
      status: input.status,
      ...content,
      expiresAt: futureTime(input.expires_at),
      maxPayments: input.action === 'checkout' ? (input.max_payments ?? null) : null,
      metadata: input.metadata,
      reference: input.reference ?? null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    }
    // A random slug may collide (rarely): draw again. A chosen one that is taken is the caller's to fix.
    for (let attempt = 0; ; attempt++) {
      try {
        await insertCode(c.var.db, code)
        break
      } catch (err) {
        if (!isSlugConflict(err)) throw err
        if (input.slug)
          throw new ApiError(409, 'slug_taken', `The slug "${code.slug}" is already in use.`)
        if (attempt >= 4) throw err
        code.slug = randomSlug()
      }
    }
    await forgetCode(code.slug, new URL(c.req.url).origin)
    return c.json(presentCode(code, base), 201)
  })

  api.openapi(getCodeRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    return c.json(presentCode(code, publicBase(c.env, c.req.url)), 200)
  })

  api.openapi(listCodesRoute, async (c) => {
    const q = c.req.valid('query')
    const rows = await listCodes(c.var.db, c.var.auth.merchantId, {
      status: q.status,
      action: q.action,
      limit: q.limit,
      after: decodeCursor(q.cursor),
    })
    const base = publicBase(c.env, c.req.url)
    const page = paginate(rows, q.limit, (r) => ({ at: r.createdAt, id: r.id }))
    return c.json({ ...page, data: page.data.map((r) => presentCode(r, base)) }, 200)
  })

  api.openapi(updateCodeRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const patch = c.req.valid('json')
    const updated = await changeCode(c.var.db, code, patch)
    await forgetCode(code.slug, new URL(c.req.url).origin)
    return c.json(presentCode(updated, publicBase(c.env, c.req.url)), 200)
  })

  api.openapi(archiveCodeRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const archived =
      code.status === 'archived' ? code : await changeCode(c.var.db, code, { status: 'archived' })
    await forgetCode(code.slug, new URL(c.req.url).origin)
    return c.json(presentCode(archived, publicBase(c.env, c.req.url)), 200)
  })

  api.openapi(listScansRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const { limit, cursor } = c.req.valid('query')
    const after = decodeCursor(cursor)
    const rows = await c.var.db
      .select()
      .from(scans)
      .where(
        and(
          eq(scans.codeId, code.id),
          after
            ? or(
                lt(scans.scannedAt, after.at),
                and(eq(scans.scannedAt, after.at), lt(scans.id, after.id)),
              )
            : undefined,
        ),
      )
      .orderBy(desc(scans.scannedAt), desc(scans.id))
      .limit(limit + 1)
    const page = paginate(rows, limit, (r) => ({ at: r.scannedAt, id: r.id }))
    return c.json({ ...page, data: page.data.map(presentScan) }, 200)
  })
}

function contentOf(input: CreateCodeInput): CodeContent {
  if (input.action === 'redirect') {
    return {
      action: 'redirect',
      destinationUrl: input.destination_url,
      allowHttp: input.allow_http,
      currency: null,
      amount: null,
      amountMin: null,
      amountMax: null,
      description: null,
    }
  }
  return {
    action: 'checkout',
    destinationUrl: null,
    allowHttp: false,
    currency: input.currency,
    amount: input.amount ?? null,
    amountMin: input.amount_min ?? null,
    amountMax: input.amount_max ?? null,
    description: input.description,
  }
}

/** Validates a patch against the code's current state and saves it (compare-and-set on version). */
async function changeCode(
  db: Parameters<typeof updateCode>[0],
  code: Code,
  patch: UpdateCodeInput,
) {
  if (code.status === 'archived') {
    throw new ApiError(409, 'invalid_state', 'This code is archived; archived codes cannot change.')
  }
  const touched = CONTENT_FIELDS.filter((f) => patch[f] !== undefined)
  if (code.mode === 'static' && touched.length) {
    throw new ApiError(
      409,
      'code_immutable',
      `This code is static: its printed symbol fixes ${touched.join(', ')}. Create a new code instead.`,
    )
  }
  const openAmount = patch.amount_min !== undefined || patch.amount_max !== undefined
  const content = touched.length
    ? checkContent({
        action: code.action,
        destinationUrl: patch.destination_url ?? code.destinationUrl,
        allowHttp: patch.allow_http ?? code.allowHttp,
        currency: patch.currency ?? code.currency,
        amount: patch.amount ?? (openAmount ? null : code.amount),
        amountMin: patch.amount_min ?? (patch.amount !== undefined ? null : code.amountMin),
        amountMax: patch.amount_max ?? (patch.amount !== undefined ? null : code.amountMax),
        description: patch.description ?? code.description,
      })
    : {}
  const updated = await updateCode(db, code, {
    ...content,
    ...(patch.status ? { status: patch.status } : {}),
    ...(patch.expires_at !== undefined
      ? { expiresAt: patch.expires_at === null ? null : futureTime(patch.expires_at) }
      : {}),
    ...(patch.metadata ? { metadata: patch.metadata } : {}),
    ...(patch.max_payments !== undefined
      ? { maxPayments: limitFor(code, patch.max_payments) }
      : {}),
    ...(patch.reference !== undefined ? { reference: patch.reference } : {}),
  })
  if (!updated) {
    throw new ApiError(
      409,
      'invalid_state',
      'The code changed while this update ran; fetch it and retry.',
    )
  }
  return updated
}

function limitFor(code: Code, maxPayments: number | null): number | null {
  if (code.action !== 'checkout' && maxPayments !== null) {
    throw new ApiError(400, 'validation_failed', 'max_payments applies to checkout codes only', [
      { path: 'body.max_payments', message: 'max_payments applies to checkout codes only' },
    ])
  }
  return maxPayments
}

function futureTime(iso: string | undefined): number | null {
  if (iso === undefined) return null
  const at = Date.parse(iso)
  if (at <= Date.now()) {
    throw new ApiError(400, 'validation_failed', 'expires_at must be in the future', [
      {
        path: 'body.expires_at',
        message: 'must be in the future (archive or pause the code instead)',
      },
    ])
  }
  return at
}

function isSlugConflict(err: unknown): boolean {
  const message = err instanceof Error ? `${err.message} ${String(err.cause ?? '')}` : String(err)
  return /UNIQUE constraint failed: codes\.slug/.test(message)
}
