/**
 * `Idempotency-Key` on API POSTs (src/api/idempotency.ts): replay, reuse with another request,
 * concurrency, per-merchant keys, key format, answers not kept, and the 24 h expiry via the cron.
 */
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { IDEMPOTENCY_KEPT_MS, requestFingerprint } from '../../src/api/idempotency'
import worker from '../../src/index'
import { RETENTION_CRON } from '../../src/lib/crons'
import { type CallOptions, call, newMerchant, problemOf } from '../helpers'

const CODES = '/api/v1/codes'
const menu = (slug?: string) => ({
  action: 'redirect',
  destination_url: 'https://example.com/menu',
  ...(slug && { slug }),
})

const post = (path: string, key: string, idempotencyKey: string, options: CallOptions = {}) =>
  call(path, {
    method: 'POST',
    key,
    ...options,
    headers: { 'idempotency-key': idempotencyKey, ...options.headers },
  })

async function codeCount(key: string) {
  const listed = (await (await call(`${CODES}?limit=100`, { key })).json()) as { data: unknown[] }
  return listed.data.length
}

const rowsOf = async (merchantId: string) =>
  (
    await env.DB.prepare('select * from idempotency_keys where merchant_id = ?')
      .bind(merchantId)
      .all<Record<string, unknown>>()
  ).results

describe('Idempotency-Key on API POSTs', () => {
  it('replays the first answer (status, body, content type) with Idempotent-Replayed', async () => {
    const { key } = await newMerchant()
    const first = await post(CODES, key, 'order-77', { json: menu() })
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const firstBody = await first.text()

    // The same body with its keys in another order is the same request.
    const again = await post(CODES, key, 'order-77', {
      json: { destination_url: 'https://example.com/menu', action: 'redirect' },
    })
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'))
    expect(again.headers.get('cache-control')).toBe('no-store')
    expect(await again.text()).toBe(firstBody)
    expect(await codeCount(key)).toBe(1)
  })

  it('replays a 4xx answer too, without running the handler again', async () => {
    const { key } = await newMerchant()
    const refused = await post(CODES, key, 'bad-1', { json: { action: 'redirect' } })
    expect(refused.status).toBe(400)
    const replay = await post(CODES, key, 'bad-1', { json: { action: 'redirect' } })
    expect(replay.status).toBe(400)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect((await problemOf(replay)).code).toBe((await problemOf(refused)).code)
  })

  it('keeps the stored answer unreadable: a new API key secret is replayed, not stored', async () => {
    const { key, merchantId } = await newMerchant()
    const created = await post('/api/v1/api-keys', key, 'new-pos-key', { json: { name: 'POS' } })
    const secret = ((await created.json()) as { key: string }).key
    const replay = await post('/api/v1/api-keys', key, 'new-pos-key', { json: { name: 'POS' } })
    expect(((await replay.json()) as { key: string }).key).toBe(secret)
    const rows = await rowsOf(merchantId)
    expect(rows).toHaveLength(1)
    expect(JSON.stringify(rows)).not.toContain(secret)
    expect(JSON.stringify(rows)).not.toContain('new-pos-key')
  })

  it('refuses the same key with another body or path: 422 idempotency_key_reused', async () => {
    const { key } = await newMerchant()
    expect((await post(CODES, key, 'k-1', { json: menu() })).status).toBe(201)
    const otherBody = await post(CODES, key, 'k-1', { json: menu('other-slug-1') })
    expect(otherBody.status).toBe(422)
    expect((await problemOf(otherBody)).code).toBe('idempotency_key_reused')
    const otherPath = await post('/api/v1/api-keys', key, 'k-1', { json: menu() })
    expect(otherPath.status).toBe(422)
    expect(await codeCount(key)).toBe(1)
  })

  it('lets one of two concurrent requests run; the other gets 409 or the replay', async () => {
    const { key } = await newMerchant()
    const answers = await Promise.all(
      [0, 1].map(() => post(CODES, key, 'at-once', { json: menu() })),
    )
    const statuses = answers.map((a) => a.status).sort()
    const replayed = answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')
    const busy = answers.filter((a) => a.status === 409)
    expect(busy.length + replayed.length).toBe(1)
    expect(statuses).toContain(201)
    for (const answer of busy) {
      expect(answer.headers.get('retry-after')).toBe('1')
      expect((await problemOf(answer)).code).toBe('idempotency_key_in_progress')
    }
    expect(await codeCount(key)).toBe(1)
  })

  it('answers 409 while a claim is live, and retakes one abandoned by a dead Worker', async () => {
    const { key, merchantId } = await newMerchant()
    const body = JSON.stringify(menu())
    const keyHash = [
      ...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('stuck'))),
    ]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
    const fingerprint = await requestFingerprint('POST', CODES, body)
    const now = Date.now()
    await env.DB.prepare(
      `insert into idempotency_keys (merchant_id, key_hash, fingerprint, state, claim, created_at, locked_until)
       values (?, ?, ?, 'in_progress', 'dead', ?, ?)`,
    )
      .bind(merchantId, keyHash, fingerprint, now, now + 30_000)
      .run()
    const busy = await post(CODES, key, 'stuck', {
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(busy.status).toBe(409)
    await env.DB.prepare('update idempotency_keys set locked_until = ? where merchant_id = ?')
      .bind(now - 1, merchantId)
      .run()
    const retaken = await post(CODES, key, 'stuck', {
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(retaken.status).toBe(201)
    expect(retaken.headers.get('idempotent-replayed')).toBeNull()
  })

  it('keeps keys per merchant: another merchant may use the same key', async () => {
    const a = await newMerchant('A')
    const b = await newMerchant('B')
    const first = (await (await post(CODES, a.key, 'shared', { json: menu() })).json()) as {
      id: string
    }
    const other = await post(CODES, b.key, 'shared', { json: menu() })
    expect(other.status).toBe(201)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect(((await other.json()) as { id: string }).id).not.toBe(first.id)
  })

  it('refuses a key that is empty, too long or not printable ASCII (400), and acts on none', async () => {
    const { key } = await newMerchant()
    for (const bad of ['', 'x'.repeat(256), 'a\x7fb', 'a\tb']) {
      const answer = await post(CODES, key, bad, { json: menu() })
      expect(answer.status, JSON.stringify(bad)).toBe(400)
      const problem = await problemOf(answer)
      expect(problem.errors?.[0]?.path).toBe('header.idempotency-key')
    }
    expect(await codeCount(key)).toBe(0)
    expect((await post(CODES, key, 'x'.repeat(255), { json: menu() })).status).toBe(201)
    expect((await post(CODES, key, ' ~!', { json: menu('spaced-key') })).status).toBe(201)
  })

  it('does not keep a 5xx or 429 answer: the retry runs again', async () => {
    const { key, merchantId } = await newMerchant()
    const created = (await (await call(CODES, { key, json: menu() })).json()) as { id: string }
    const tokenPath = `${CODES}/${created.id}/live-token`
    const unconfigured = await post(tokenPath, key, 'token-1', { env: { LIVE_TOKEN_SECRET: '' } })
    expect(unconfigured.status).toBe(503)
    expect(await rowsOf(merchantId)).toEqual([])
    const limited = await post(tokenPath, key, 'token-1', {
      env: {
        API_WRITE_LIMITER: { limit: async () => ({ success: false }) } as unknown as RateLimit,
      },
    })
    expect(limited.status).toBe(429)
    const token = await post(tokenPath, key, 'token-1')
    expect(token.status).toBe(201)
    expect(token.headers.get('idempotent-replayed')).toBeNull()
    expect((await post(tokenPath, key, 'token-1')).headers.get('idempotent-replayed')).toBe('true')
  })

  it('is forgotten after 24 h by the hourly retention cron', async () => {
    const { key, merchantId } = await newMerchant()
    expect((await post(CODES, key, 'daily', { json: menu() })).status).toBe(201)
    const cron = async (scheduledTime: number) => {
      const ctx = createExecutionContext()
      const info = vi.spyOn(console, 'info').mockImplementation(() => {})
      await worker.scheduled(
        createScheduledController({ scheduledTime, cron: RETENTION_CRON }),
        env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      info.mockRestore()
    }
    await cron(Date.now() + IDEMPOTENCY_KEPT_MS - 3_600_000)
    expect(await rowsOf(merchantId)).toHaveLength(1)
    await cron(Date.now() + IDEMPOTENCY_KEPT_MS + 1)
    expect(await rowsOf(merchantId)).toEqual([])
    const fresh = await post(CODES, key, 'daily', { json: menu() })
    expect(fresh.status).toBe(201)
    expect(fresh.headers.get('idempotent-replayed')).toBeNull()
    expect(await codeCount(key)).toBe(2)
  })
})
