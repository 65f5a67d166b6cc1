import { describe, expect, it } from 'vitest'
import { call, createCode, IPHONE, merchantWithCode, newMerchant, problemOf } from '../helpers'

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
      const event = JSON.parse(block.replace(/^data: /, '')) as { type: string }
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
})
