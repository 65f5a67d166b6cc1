import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { SESSION_IDLE_MS } from '../../src/auth/sessions'
import { CREDENTIALS_CHECK_MS, FEED_REVOKED } from '../../src/hub/code-hub'
import { call, createCode, IPHONE, merchantWithCode, newMerchant, problemOf } from '../helpers'
import { AdminClient } from './client'

async function tokenFor(admin: AdminClient, codeId: string) {
  const response = await admin.send(
    `/admin/codes/${codeId}/live-token`,
    'POST',
    '{}',
    undefined,
    'application/json',
  )
  return response
}

/** A signed-in admin of a redirect code, and the feed URL its live token opens. */
async function signedInWithToken() {
  const { key, code } = await merchantWithCode({
    action: 'redirect',
    destination_url: 'https://example.com',
  })
  const admin = await AdminClient.signIn(key)
  const { url } = (await (await tokenFor(admin, code.id)).json()) as { url: string }
  return { admin, key, code, live: new URL(url) }
}

function openFeed(live: URL) {
  return call(`${live.pathname}${live.search}`, { headers: { upgrade: 'websocket' } })
}

describe("the admin's live feed", () => {
  it('issues a token for its own code that opens the feed, which then carries each scan', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const admin = await AdminClient.signIn(key)
    const issued = await tokenFor(admin, code.id)
    expect(issued.status).toBe(201)
    const { url } = (await issued.json()) as { url: string }
    const live = new URL(url)
    expect(live.protocol).toBe('wss:')
    expect(live.pathname).toBe(`/api/v1/codes/${code.id}/live`)

    const opened = await call(`${live.pathname}${live.search}`, {
      headers: { upgrade: 'websocket' },
    })
    expect(opened.status).toBe(101)
    const ws = opened.webSocket
    if (!ws) throw new Error('no websocket')
    const messages: { type: string; counters?: { human: number } }[] = []
    ws.accept()
    ws.addEventListener('message', (e) => {
      messages.push(JSON.parse(String(e.data)))
    })
    await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
    const deadline = Date.now() + 3000
    while (
      !messages.some((m) => m.type === 'update' && m.counters?.human === 1) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(messages[0]?.type).toBe('hello')
    expect(messages.some((m) => m.type === 'update' && m.counters?.human === 1)).toBe(true)
    ws.close()

    // The page shows the same counters server-side for a visitor without JavaScript.
    const page = await (await admin.get(`/admin/codes/${code.id}`)).text()
    expect(page).toMatch(/data-count="human">1</)
  })

  it('stops honouring tokens once the session that asked for them signs out', async () => {
    const { admin, live } = await signedInWithToken()
    const open = () => call(`${live.pathname}${live.search}`, { headers: { upgrade: 'websocket' } })
    // It works while the session lasts…
    const accepted = await open()
    expect(accepted.status).toBe(101)
    accepted.webSocket?.accept()
    accepted.webSocket?.close()
    // …and not once it has signed out.
    await admin.post('/admin/logout')
    expect((await open()).status).toBe(401)
  })

  it("closes a feed the session opened once it signs out, at the hub's next check", async () => {
    const { admin, code, live } = await signedInWithToken()
    const opened = await call(`${live.pathname}${live.search}`, {
      headers: { upgrade: 'websocket' },
    })
    const ws = opened.webSocket
    if (!ws) throw new Error('no websocket')
    const messages: string[] = []
    const closed: number[] = []
    ws.accept()
    ws.addEventListener('message', (e) => messages.push(String(e.data)))
    ws.addEventListener('close', (e) => closed.push(e.code))
    await admin.post('/admin/logout')
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + CREDENTIALS_CHECK_MS })
    try {
      const seen = messages.length
      await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
      for (let i = 0; i < 100 && !closed.length; i++) await new Promise((r) => setTimeout(r, 10))
      expect(closed).toEqual([FEED_REVOKED])
      expect(messages.slice(seen)).toEqual([])
    } finally {
      vi.useRealTimers()
    }
  })

  it('stops honouring tokens once the merchant signs out everywhere, or the session idles out', async () => {
    const everywhere = await signedInWithToken()
    const other = await AdminClient.signIn(everywhere.key)
    expect((await other.post('/admin/logout/everywhere')).status).toBe(303)
    expect((await openFeed(everywhere.live)).status).toBe(401)

    const idle = await signedInWithToken()
    await env.DB.prepare('update admin_sessions set last_used_at = ? where hash = ?')
      .bind(Date.now() - SESSION_IDLE_MS, await idle.admin.sessionHash())
      .run()
    expect((await openFeed(idle.live)).status).toBe(401)
  })

  it("closes a feed whose session has idled out, at the hub's next check", async () => {
    const { admin, code, live } = await signedInWithToken()
    const opened = await call(`${live.pathname}${live.search}`, {
      headers: { upgrade: 'websocket' },
    })
    const ws = opened.webSocket
    if (!ws) throw new Error('no websocket')
    const closed: number[] = []
    ws.accept()
    ws.addEventListener('close', (e) => closed.push(e.code))
    // Last used 12 hours before the hub's next check.
    await env.DB.prepare('update admin_sessions set last_used_at = ? where hash = ?')
      .bind(Date.now() + CREDENTIALS_CHECK_MS - SESSION_IDLE_MS, await admin.sessionHash())
      .run()
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + CREDENTIALS_CHECK_MS })
    try {
      await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE } })
      for (let i = 0; i < 100 && !closed.length; i++) await new Promise((r) => setTimeout(r, 10))
      expect(closed).toEqual([FEED_REVOKED])
    } finally {
      vi.useRealTimers()
    }
  })

  it("gives no token for another merchant's code, nor without a session", async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const code = await createCode(alice.key, {
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const admin = await AdminClient.signIn(bob.key)
    const theirs = await tokenFor(admin, code.id)
    expect(theirs.status).toBe(404)
    expect(theirs.headers.get('content-type')).toBe('application/problem+json')
    expect((await problemOf(theirs)).code).toBe('not_found')
    expect((await tokenFor(new AdminClient(), code.id)).status).toBe(303)
  })

  it('answers a 503 problem when live tokens are not configured', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://e.com' })
    const admin = await AdminClient.signIn(key)
    admin.bindings = { LIVE_TOKEN_SECRET: undefined } as Partial<Env>
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const response = await tokenFor(admin, code.id)
      expect(response.status).toBe(503)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect((await problemOf(response)).code).toBe('not_configured')
    } finally {
      warn.mockRestore()
    }
  })
})
