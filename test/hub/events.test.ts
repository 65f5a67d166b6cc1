import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import { MIN_INTERVAL_MS } from '../../src/hub/feed'
import { SSE_MAX_QUEUED } from '../../src/hub/live-routes'
import {
  CREDENTIALS_CHECK_MS,
  FEED_MAX_MS,
  MAX_SOCKETS,
  MAX_WATCHERS,
} from '../../src/hub/watchers'
import { call, createCode, IPHONE, merchantWithCode, newMerchant, problemOf } from '../helpers'
import { scanFor } from './fixtures'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Live-feed sockets the code's hub holds open. */
const watchers = (codeId: string) =>
  runInDurableObject(hubFor(env, codeId), (_hub, state) => state.getWebSockets().length)

/** Reads `data:` events from an SSE body until `match` accepts one (or the deadline passes). */
async function nextEvent(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  match: (e: { type: string }) => boolean,
) {
  const decoder = new TextDecoder()
  let buffer = ''
  const deadline = Date.now() + 3000
  while (Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    for (const block of buffer.split('\n\n').slice(0, -1)) {
      if (!block.startsWith('data: ')) continue // a `: ping` comment
      const event = JSON.parse(block.slice('data: '.length)) as { type: string }
      if (match(event)) return event
    }
    buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2)
  }
  throw new Error('no matching event')
}

describe('the live feed as Server-Sent Events', () => {
  it('streams the greeting, then each scan, as data: events', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const response = await call(`/api/v1/codes/${code.id}/events`, { key })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const hello = await nextEvent(reader, (e) => e.type === 'hello')
    expect(hello).toMatchObject({ type: 'hello', code_id: code.id })
    await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
    const update = (await nextEvent(reader, (e) => e.type === 'update')) as unknown as {
      counters: { human: number }
    }
    expect(update.counters.human).toBe(1)
    await reader.cancel()
  })

  it.each([
    ['an expired feed, so the client reconnects', FEED_MAX_MS, false],
    ['the feed of a key revoked since', CREDENTIALS_CHECK_MS, true],
  ])('ends the stream when the hub closes %s', async (_, after, revoke) => {
    const { key, keyId, code, merchantId } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const response = await call(`/api/v1/codes/${code.id}/events`, { key })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await nextEvent(reader, (e) => e.type === 'hello')
    if (revoke) await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + after })
    try {
      await hubFor(env, code.id).recordScans([scanFor({ id: code.id, merchantId })])
      const rest = new TextDecoder()
      let text = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        text += rest.decode(value, { stream: true })
      }
      // Nothing after the expiry: no update reached the stream before it ended.
      expect(text).not.toContain('"type":"update"')
      expect(await watchers(code.id)).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses a missing key and another merchant, like the WebSocket feed', async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const code = await createCode(alice.key, {
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const anonymous = await call(`/api/v1/codes/${code.id}/events`)
    expect(anonymous.status).toBe(401)
    expect((await problemOf(anonymous)).code).toBe('unauthorized')
    expect((await call(`/api/v1/codes/${code.id}/events`, { key: bob.key })).status).toBe(404)
  })

  it('answers HEAD with the headers only, opening nothing on the hub', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const head = await call(`/api/v1/codes/${code.id}/events`, { key, method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(await watchers(code.id)).toBe(0)
  })

  it('drops a reader that stops reading, closing its hub socket', async () => {
    const merchant = await newMerchant()
    const code = await createCode(merchant.key, {
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const response = await call(`/api/v1/codes/${code.id}/events`, { key: merchant.key })
    expect(response.status).toBe(200)
    expect(await watchers(code.id)).toBe(1)
    // Never read: each coalesced message (one per MIN_INTERVAL_MS) queues in the Worker.
    const hub = hubFor(env, code.id)
    const ref = { id: code.id, merchantId: merchant.merchantId }
    for (let i = 0; i < SSE_MAX_QUEUED + 4 && (await watchers(code.id)) > 0; i++) {
      await hub.recordScans([scanFor(ref)])
      await sleep(MIN_INTERVAL_MS + 10)
    }
    expect(await watchers(code.id)).toBe(0)
    await response.body?.cancel()
  })

  it('refuses more than MAX_WATCHERS at once on one code with a 503 problem', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const hub = hubFor(env, code.id)
    const open: WebSocket[] = []
    for (let i = 0; i < MAX_WATCHERS; i++) {
      const answer = await hub.fetch('https://hub/live', { headers: { upgrade: 'websocket' } })
      expect(answer.status).toBe(101)
      answer.webSocket?.accept()
      if (answer.webSocket) open.push(answer.webSocket)
    }
    for (const path of ['live', 'events']) {
      const refused = await call(`/api/v1/codes/${code.id}/${path}`, {
        key,
        headers: path === 'live' ? { upgrade: 'websocket' } : {},
      })
      expect(refused.status).toBe(503)
      expect((await problemOf(refused)).code).toBe('temporarily_unavailable')
    }
    for (const ws of open) ws.close()
  })

  it('makes room as feeds expire, but holds at most MAX_SOCKETS, expired ones still closing included', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const hub = hubFor(env, code.id)
    // Clients that never accept their side never answer the hub's close either (kept referenced).
    const held: Response[] = []
    const openSilent = async () => {
      const answer = await hub.fetch('https://hub/live', { headers: { upgrade: 'websocket' } })
      held.push(answer)
      return answer.status
    }
    const openBatch = async () => {
      const statuses = new Set<number>()
      for (let i = 0; i < MAX_WATCHERS; i++) statuses.add(await openSilent())
      return [...statuses]
    }
    expect(await openBatch()).toEqual([101])
    expect(await openSilent()).toBe(503)

    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start + FEED_MAX_MS })
    try {
      // The first batch has expired: closed, it makes room for as many again.
      expect(await openBatch()).toEqual([101])
      vi.setSystemTime(start + 2 * FEED_MAX_MS)
      // Both batches have expired, but their clients never answered the close: the hub still
      // holds them all, and takes no more.
      expect(await openSilent()).toBe(503)
      expect(await watchers(code.id)).toBe(MAX_SOCKETS)
    } finally {
      vi.useRealTimers()
    }
  })
})
