/**
 * `Idempotency-Key` on API POSTs, per merchant (so it runs after API key auth), kept 24 h: a retry
 * of a POST whose answer was lost replays that answer instead of acting twice. The first request
 * claims the key with one conditional upsert (D1 serialises writes, so exactly one claim takes);
 * others then read the row: another request under the key → 422, still running → 409, answered →
 * the stored answer with `Idempotent-Replayed: true`. Answers that say "try again" (5xx, 429) are
 * not stored: the claim is released so the retry runs. The key is stored hashed and the answer
 * encrypted with a key derived from it, so the table holds no readable secret (a new API key's).
 */
import { createMiddleware } from 'hono/factory'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from '../env'
import { ApiError } from '../errors'
import { log } from '../lib/log'
import { deleteInChunks } from '../stats/retention'

export const IDEMPOTENCY_HEADER = 'idempotency-key'
/** 1–255 printable ASCII characters (space included), as Stripe accepts. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/
/** How long an answer is replayed; the hourly retention cron deletes older rows. */
export const IDEMPOTENCY_KEPT_MS = 24 * 3_600_000
/** A claim with no answer after this long is abandoned (its Worker died) and can be retaken. */
export const IDEMPOTENCY_CLAIM_MS = 60_000

const encoder = new TextEncoder()
const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')
const sha256 = async (text: string) =>
  hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)))

/** JSON with object keys sorted, so key order and whitespace do not make another request. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
  )
}

/** What makes two requests "the same": method, path and body (canonical when it is JSON). */
export async function requestFingerprint(method: string, path: string, body: string) {
  let canonical = body
  try {
    canonical = JSON.stringify(sortedKeys(JSON.parse(body)))
  } catch {
    // Not JSON: compared byte for byte (the handler refuses it anyway).
  }
  return sha256(`${method}\n${path}\n${canonical}`)
}

async function answerKey(idempotencyKey: string, merchantId: string) {
  const material = await crypto.subtle.importKey(
    'raw',
    encoder.encode(idempotencyKey),
    'HKDF',
    false,
    ['deriveKey'],
  )
  return crypto.subtle.deriveKey(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: encoder.encode(merchantId),
      info: encoder.encode('qrcheckout idempotent answer'),
    },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

async function seal(key: CryptoKey, text: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, encoder.encode(text))
  const bytes = new Uint8Array(12 + sealed.byteLength)
  bytes.set(iv)
  bytes.set(new Uint8Array(sealed), 12)
  return btoa(String.fromCharCode(...bytes))
}

async function unseal(key: CryptoKey, stored: string): Promise<string> {
  const bytes = Uint8Array.from(atob(stored), (ch) => ch.charCodeAt(0))
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.subarray(0, 12) },
    key,
    bytes.subarray(12),
  )
  return new TextDecoder().decode(plain)
}

/** Answers a retry must not replay: the client is told to try again, so it runs again. */
const isRetryable = (status: number) => status >= 500 || status === 429

/**
 * Takes the key, unless another live request holds it or answered under it. A row past 24 h
 * (not yet deleted) counts as absent; an abandoned claim for the same request is retaken.
 */
const CLAIM = `insert into idempotency_keys
  (merchant_id, key_hash, fingerprint, state, claim, created_at, locked_until)
  values (?1, ?2, ?3, 'in_progress', ?4, ?5, ?6)
  on conflict (merchant_id, key_hash) do update set
    fingerprint = excluded.fingerprint, state = 'in_progress', claim = excluded.claim,
    status = null, content_type = null, body = null,
    created_at = excluded.created_at, locked_until = excluded.locked_until
  where idempotency_keys.created_at <= ?7
    or (idempotency_keys.state = 'in_progress' and idempotency_keys.locked_until <= ?5
      and idempotency_keys.fingerprint = excluded.fingerprint)
  returning claim`

interface StoredAnswer {
  fingerprint: string
  state: 'in_progress' | 'done'
  status: number | null
  content_type: string | null
  body: string | null
}

export const idempotentPosts = createMiddleware<AppEnv>(async (c, next) => {
  const idempotencyKey = c.req.header(IDEMPOTENCY_HEADER)
  if (c.req.method !== 'POST' || idempotencyKey === undefined) return next()
  if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    const message = 'Must be 1 to 255 printable ASCII characters.'
    throw new ApiError(400, 'validation_failed', `header.${IDEMPOTENCY_HEADER}: ${message}`, [
      { path: `header.${IDEMPOTENCY_HEADER}`, message },
    ])
  }
  const { merchantId } = c.var.auth
  const d1 = c.env.DB
  // Read once here (within the body limit); the handler's validator reads the cached copy.
  const body = await c.req.text()
  const url = new URL(c.req.url)
  const [keyHash, fingerprint] = await Promise.all([
    sha256(idempotencyKey),
    requestFingerprint(c.req.method, url.pathname + url.search, body),
  ])
  const claim = crypto.randomUUID()

  // Twice at most: a row released (a 5xx) between our claim and our read is claimed again.
  let stored: StoredAnswer | null = null
  for (let attempt = 0; attempt < 2 && !stored; attempt++) {
    const now = Date.now()
    const took = await d1
      .prepare(CLAIM)
      .bind(
        merchantId,
        keyHash,
        fingerprint,
        claim,
        now,
        now + IDEMPOTENCY_CLAIM_MS,
        now - IDEMPOTENCY_KEPT_MS,
      )
      .first()
    if (took) return answerAndStore()
    stored = await d1
      .prepare(
        'select fingerprint, state, status, content_type, body from idempotency_keys where merchant_id = ? and key_hash = ?',
      )
      .bind(merchantId, keyHash)
      .first<StoredAnswer>()
  }
  if (stored && stored.fingerprint !== fingerprint) {
    throw new ApiError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was already used with another method, path or body; send a new key for a new request.',
    )
  }
  if (stored?.state !== 'done' || stored.status === null) {
    throw new ApiError(
      409,
      'idempotency_key_in_progress',
      'A request with this Idempotency-Key is still running; retry after `Retry-After` seconds.',
      undefined,
      { 'retry-after': '1' },
    )
  }
  const replayed =
    stored.body === null
      ? null
      : await unseal(await answerKey(idempotencyKey, merchantId), stored.body)
  return c.newResponse(replayed || null, stored.status as ContentfulStatusCode, {
    ...(stored.content_type && { 'content-type': stored.content_type }),
    'idempotent-replayed': 'true',
  })

  async function answerAndStore() {
    await next()
    const res = c.res
    const mine = 'merchant_id = ? and key_hash = ? and claim = ?'
    try {
      if (isRetryable(res.status)) {
        await d1
          .prepare(`delete from idempotency_keys where ${mine}`)
          .bind(merchantId, keyHash, claim)
          .run()
        return
      }
      const text = await res.clone().text()
      const sealed = await seal(await answerKey(idempotencyKey as string, merchantId), text)
      await d1
        .prepare(
          `update idempotency_keys set state = 'done', status = ?, content_type = ?, body = ? where ${mine}`,
        )
        .bind(res.status, res.headers.get('content-type'), sealed, merchantId, keyHash, claim)
        .run()
    } catch (err) {
      // The answer stands; the claim expires and a retry runs again.
      log.error('idempotency: answer not stored', { status: res.status }, err)
    }
  }
})

/** 5 × 2,000 = 10,000 expired keys an hour, beside the scan retention's 40 statements (of 50). */
const EXPIRY_CHUNKS = 5

/**
 * Deletes the keys of requests made more than 24 h before `at` (epoch ms); run by the hourly
 * retention cron, in short statements like the scan retention.
 */
export async function forgetIdempotencyKeys(env: { DB: D1Database }, at: number) {
  const deleted = await deleteInChunks(
    env.DB.prepare(
      'delete from idempotency_keys where rowid in (select rowid from idempotency_keys where created_at < ? limit ?)',
    ),
    at - IDEMPOTENCY_KEPT_MS,
    { maxChunks: EXPIRY_CHUNKS },
  )
  log.info('retention: expired idempotency keys deleted', { deleted })
  return deleted
}
