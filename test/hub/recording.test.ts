import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { clearIsolateCache } from '../../src/codes/cache'
import { hubFor } from '../../src/hub/client'
import { DEFAULT_PACE } from '../../src/hub/pace'
import worker from '../../src/index'
import { call, createCode, flushHub, merchantWithCode, newMerchant, ORIGIN } from '../helpers'
import { countingEnv, d1Count, d1Scans, IPHONE, SLACKBOT, scanFor } from './fixtures'

describe('recording scans through the code hub', () => {
  it('stores hundreds of concurrent scans exactly once each, in few hub calls, with exact counters', async () => {
    const { key, merchantId } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })
    clearIsolateCache()
    const humans = 240
    const bots = 45
    const heads = 15
    const { env: counting, counter } = countingEnv()
    const requests = [
      ...Array.from({ length: humans }, (_, i) => ({
        headers: { 'user-agent': IPHONE, 'cf-connecting-ip': `203.0.113.${i % 60}` },
      })),
      ...Array.from({ length: bots }, () => ({ headers: { 'user-agent': SLACKBOT } })),
      ...Array.from({ length: heads }, () => ({
        method: 'HEAD',
        headers: { 'user-agent': IPHONE, 'cf-connecting-ip': '198.51.100.1' },
      })),
    ]
    const responses = await Promise.all(
      requests.map((r) => call(`/${code.slug}`, { ...r, env: counting })),
    )
    expect(responses.every((r) => r.status === 302)).toBe(true)
    const total = humans + bots + heads

    // Batched: one RPC per full batch (or per window), never one per scan.
    expect(counter.stubs).toBeGreaterThanOrEqual(Math.ceil(total / DEFAULT_PACE.maxScans))
    expect(counter.stubs).toBeLessThan(total / 10)

    // Acknowledged scans are in the hub before any flush.
    const hub = hubFor(env, code.id)
    expect(await hub.counters()).toMatchObject({
      scans: total,
      human: humans,
      bot: bots + heads,
      unique_visitors_today: 60,
      unflushed: total,
    })
    expect(await d1Count('select count(*) as n from scans where code_id = ?', code.id)).toBe(0)

    await flushHub(code.id)
    const rows = await d1Scans(code.id)
    expect(rows).toHaveLength(total)
    expect(new Set(rows.map((r) => r.id)).size).toBe(total)
    expect(rows.every((r) => r.merchant_id === merchantId)).toBe(true)
    expect(rows.filter((r) => r.is_bot === 0)).toHaveLength(humans)
    expect(rows.filter((r) => r.method === 'HEAD')).toHaveLength(heads)
    expect(await hub.counters()).toMatchObject({ scans: total, unflushed: 0 })
    const rollup = await env.DB.prepare(
      'select sum(human) as human, sum(bot) as bot from scan_rollup_hours where code_id = ?',
    )
      .bind(code.id)
      .first()
    expect(rollup).toEqual({ human: humans, bot: bots + heads })
  })

  it('answers before the scan reaches the hub; the scan is stored once waitUntil settles', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    await call(`/${code.slug}`) // warm the isolate cache
    const hub = hubFor(env, code.id)
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(`${ORIGIN}/${code.slug}`, { redirect: 'manual' }) as Request<
        unknown,
        IncomingRequestCfProperties
      >,
      env,
      ctx,
    )
    expect(response.status).toBe(302)
    expect((await hub.counters()).scans).toBe(1)
    await waitOnExecutionContext(ctx)
    expect((await hub.counters()).scans).toBe(2)
  })

  it('keeps concurrent scans of different codes apart', async () => {
    const { key } = await newMerchant()
    const codes = await Promise.all(
      [0, 1, 2].map((i) =>
        createCode(key, { action: 'redirect', destination_url: `https://c${i}.example` }),
      ),
    )
    const perCode = [70, 5, 131]
    await Promise.all(
      codes.flatMap((code, i) =>
        Array.from({ length: perCode[i] ?? 0 }, () =>
          call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } }),
        ),
      ),
    )
    for (const [i, code] of codes.entries()) {
      expect((await hubFor(env, code.id).counters()).scans).toBe(perCode[i])
      await flushHub(code.id)
      expect(await d1Scans(code.id)).toHaveLength(perCode[i] ?? -1)
    }
  })

  it('ignores a batch delivered twice (the Worker retries a failed call once)', async () => {
    const { key, merchantId } = await newMerchant()
    const code = {
      ...(await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })),
      merchantId,
    }
    const hub = hubFor(env, code.id)
    const batch = Array.from({ length: 20 }, (_, i) =>
      scanFor(code, { isBot: i % 4 === 0, visitorHash: `v${i % 7}` }),
    )
    expect((await hub.recordScans(batch)).stored).toBe(20)
    await flushHub(code.id)
    // Again after the flush (the first answer was lost), and again before the next flush.
    expect((await hub.recordScans(batch)).stored).toBe(0)
    // The next batch is stored, and a scan repeated inside one batch counts once.
    const next = scanFor(code)
    expect((await hub.recordScans([next, next])).stored).toBe(1)
    expect((await hub.recordScans(batch)).stored).toBe(0)
    await flushHub(code.id)
    expect(await d1Scans(code.id)).toHaveLength(21)
    expect(await hub.counters()).toMatchObject({ scans: 21, bot: 5, human: 16 })
  })

  it('counts unique visitors per UTC day, humans only', async () => {
    const { key, merchantId } = await newMerchant()
    const code = {
      ...(await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })),
      merchantId,
    }
    const hub = hubFor(env, code.id)
    const yesterday = Date.now() - 86_400_000
    await hub.recordScans([
      scanFor(code, { visitorHash: 'a' }),
      scanFor(code, { visitorHash: 'a' }),
      scanFor(code, { visitorHash: 'b' }),
      scanFor(code, { visitorHash: 'c', isBot: true }),
      scanFor(code, { visitorHash: null }),
      scanFor(code, { visitorHash: 'd', scannedAt: yesterday }),
    ])
    expect((await hub.counters()).unique_visitors_today).toBe(2)
  })

  it('refuses scans of another code instead of mixing them into this hub', async () => {
    const { key, merchantId } = await newMerchant()
    const a = {
      ...(await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })),
      merchantId,
    }
    const b = {
      ...(await createCode(key, { action: 'redirect', destination_url: 'https://b.example' })),
      merchantId,
    }
    // Through runInDurableObject: a rejecting stub call leaks an unhandled rejection in the
    // vitest plugin (cloudflare/workers-sdk#14736).
    await expect(
      runInDurableObject(hubFor(env, a.id), (hub) => hub.recordScans([scanFor(a), scanFor(b)])),
    ).rejects.toThrow(/is for code_/)
    expect((await hubFor(env, a.id).counters()).scans).toBe(0)
  })
})
