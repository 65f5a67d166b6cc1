/**
 * Creating and changing codes: the one place both the API and the admin go through, so every rule
 * (validation, static immutability, compare-and-set, the audit log) holds whoever makes the change.
 */
import type { Db } from '../db/client'
import type { Code } from '../db/schema'
import { ApiError } from '../errors'
import { newId, randomSlug } from '../lib/ids'
import { type CodeChange, insertCode, updateCode } from './queries'
import {
  CONTENT_FIELDS,
  type CodeContent,
  checkContent,
  type DestinationRules,
  normalizeSlug,
  PUBLIC_DESTINATIONS,
} from './rules'
import type { CreateCodeInput, UpdateCodeInput } from './schemas'

/** `rules`: where destinations may point; `destinationRules(env)` (public only by default). */
export async function createCodeFor(
  db: Db,
  merchantId: string,
  input: CreateCodeInput,
  rules: DestinationRules = PUBLIC_DESTINATIONS,
) {
  const content = checkContent(contentOf(input), rules)
  const now = Date.now()
  const code: Code = {
    id: newId('code'),
    merchantId,
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
      await insertCode(db, code)
      return code
    } catch (err) {
      if (!isSlugConflict(err)) throw err
      if (input.slug) {
        throw new ApiError(409, 'slug_taken', `The slug "${code.slug}" is already in use.`)
      }
      if (attempt >= 4) throw err
      code.slug = randomSlug()
    }
  }
}

/** Fields whose every change is kept in the audit log, with how to show their values. */
const AUDITED: [keyof Code, string][] = [
  ['destinationUrl', 'destination_url'],
  ['allowHttp', 'allow_http'],
  ['currency', 'currency'],
  ['amount', 'amount'],
  ['amountMin', 'amount_min'],
  ['amountMax', 'amount_max'],
  ['description', 'description'],
  ['status', 'status'],
  ['expiresAt', 'expires_at'],
  ['maxPayments', 'max_payments'],
]

const shown = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value)

/**
 * Validates a patch against the code's current state and saves it with its audit entries, as a
 * compare-and-set on the version. `actor` says who: `api_key:key_…` or `admin:…`.
 */
export async function changeCode(
  db: Db,
  code: Code,
  patch: UpdateCodeInput,
  actor: string,
  rules: DestinationRules = PUBLIC_DESTINATIONS,
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
    ? checkContent(
        {
          action: code.action,
          destinationUrl: patch.destination_url ?? code.destinationUrl,
          allowHttp: patch.allow_http ?? code.allowHttp,
          currency: patch.currency ?? code.currency,
          amount: patch.amount ?? (openAmount ? null : code.amount),
          amountMin: patch.amount_min ?? (patch.amount !== undefined ? null : code.amountMin),
          amountMax: patch.amount_max ?? (patch.amount !== undefined ? null : code.amountMax),
          description: patch.description ?? code.description,
        },
        rules,
      )
    : {}
  const changes: Partial<Code> = {
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
  }
  // A patch that changes nothing writes nothing: no new version for other clients to conflict on.
  const current = code as Record<string, unknown>
  const same = (value: unknown, was: unknown) =>
    JSON.stringify(value ?? null) === JSON.stringify(was ?? null)
  if (Object.entries(changes).every(([field, value]) => same(value, current[field]))) return code
  const now = Date.now()
  const audit: CodeChange[] = AUDITED.filter(
    ([field]) => field in changes && shown(changes[field]) !== shown(code[field]),
  ).map(([field, name]) => ({
    id: newId('chg'),
    codeId: code.id,
    merchantId: code.merchantId,
    actor,
    field: name,
    oldValue: shown(code[field]),
    newValue: shown(changes[field]),
    version: code.version + 1,
    changedAt: now,
  }))
  const updated = await updateCode(db, code, changes, audit)
  if (!updated) {
    throw new ApiError(
      409,
      'version_conflict',
      'The code changed while this update ran; fetch it and retry.',
    )
  }
  return updated
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
