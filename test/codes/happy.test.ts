import { describe, expect, it } from 'vitest'
import {
  call,
  createCode,
  merchantWithCode,
  newMerchant,
  ORIGIN,
  pageThrough,
  problemOf,
} from '../helpers'

describe('codes API: what an integrator does', () => {
  it('creates a dynamic redirect code with a random slug and reads it back', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/menu?table=4',
      metadata: { table: '4' },
      reference: 'menu-board',
    })
    expect(code.id).toMatch(/^code_[0-9A-Za-z]{22}$/)
    expect(code.slug).toMatch(/^[23456789a-hjkmnp-z]{8}$/)
    expect(code).toMatchObject({
      object: 'code',
      mode: 'dynamic',
      action: 'redirect',
      status: 'active',
      destination_url: 'https://example.com/menu?table=4',
      url: `${ORIGIN}/${code.slug}`,
      qr_svg_url: `${ORIGIN}/qr/${code.slug}.svg`,
      qr_content: `${ORIGIN}/${code.slug.toUpperCase()}`,
      metadata: { table: '4' },
      reference: 'menu-board',
      version: 1,
    })
    const read = await call(`/api/v1/codes/${code.id}`, { key })
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual(code)
  })

  it('creates fixed and open-amount checkout codes, normalising currency case', async () => {
    const { key } = await newMerchant()
    const fixed = await createCode(key, {
      action: 'checkout',
      currency: 'EUR',
      amount: 450,
      description: 'Flat white',
    })
    expect(fixed).toMatchObject({
      currency: 'eur',
      amount: 450,
      amount_min: null,
      amount_max: null,
    })
    const open = await createCode(key, {
      action: 'checkout',
      currency: 'jpy',
      amount_min: 100,
      amount_max: 50000,
      description: 'Tip jar',
      slug: 'Tip-Jar',
    })
    expect(open).toMatchObject({
      slug: 'tip-jar',
      amount: null,
      amount_min: 100,
      amount_max: 50000,
    })
  })

  it('normalises destinations to ASCII: punycode host, percent-encoded path', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://bücher.example/straße menü',
    })
    expect(code.destination_url).toBe('https://xn--bcher-kva.example/stra%C3%9Fe%20men%C3%BC')
  })

  it('a static redirect code puts its destination in the QR itself', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      mode: 'static',
      destination_url: 'https://example.com/wifi',
    })
    expect(code.qr_content).toBe('https://example.com/wifi')
  })

  it('applies an update sent with the version read only while the code is still at it', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    const patch = (json: Record<string, unknown>) =>
      call(`/api/v1/codes/${code.id}`, { key, method: 'PATCH', json })
    const read = (await (await call(`/api/v1/codes/${code.id}`, { key })).json()) as {
      version: number
    }
    // Another integrator changes it first.
    expect((await patch({ destination_url: 'https://b.example' })).status).toBe(200)
    const stale = await patch({ destination_url: 'https://c.example', version: read.version })
    expect(stale.status).toBe(409)
    expect((await problemOf(stale)).code).toBe('version_conflict')
    const now = (await (await call(`/api/v1/codes/${code.id}`, { key })).json()) as {
      destination_url: string
      version: number
    }
    expect(now).toMatchObject({ destination_url: 'https://b.example/', version: read.version + 1 })
    const current = await patch({ destination_url: 'https://c.example', version: now.version })
    expect(current.status).toBe(200)
    expect(await current.json()).toMatchObject({ version: now.version + 1 })
    const bad = await patch({ version: 0 })
    expect(bad.status).toBe(400)
  })

  it('keeps the version and the audit log as they were when an update changes nothing', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    const patch = (json: Record<string, unknown>) =>
      call(`/api/v1/codes/${code.id}`, { key, method: 'PATCH', json })
    for (const nothing of [{}, { status: 'active' }, { destination_url: 'https://a.example/' }]) {
      const response = await patch(nothing)
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ version: 1 })
    }
    const changes = await call(`/api/v1/codes/${code.id}/changes`, { key })
    expect(((await changes.json()) as { data: unknown[] }).data).toHaveLength(0)
    expect(await (await patch({ status: 'paused' })).json()).toMatchObject({ version: 2 })
  })

  it('lets one of several concurrent updates of one version win, the others get version_conflict', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    const answers = await Promise.all(
      ['b', 'c', 'd', 'e'].map((host) =>
        call(`/api/v1/codes/${code.id}`, {
          key,
          method: 'PATCH',
          json: { destination_url: `https://${host}.example`, version: 1 },
        }),
      ),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expect(refused.status).toBe(409)
      expect((await problemOf(refused)).code).toBe('version_conflict')
    }
  })

  it('updates a dynamic code, bumping its version each time', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'usd',
      amount: 500,
      description: 'Soup',
    })
    const first = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { amount: 650, description: 'Soup of the day', metadata: { day: 'mon' } },
    })
    expect(first.status).toBe(200)
    expect(await first.json()).toMatchObject({
      amount: 650,
      description: 'Soup of the day',
      version: 2,
    })
    const toOpen = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { amount_min: 100, amount_max: 2000 },
    })
    expect(await toOpen.json()).toMatchObject({
      amount: null,
      amount_min: 100,
      amount_max: 2000,
      version: 3,
    })
    const expiry = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { expires_at: '2099-01-01T00:00:00Z', status: 'paused' },
    })
    expect(await expiry.json()).toMatchObject({
      expires_at: '2099-01-01T00:00:00.000Z',
      status: 'paused',
      version: 4,
    })
  })

  it('archives with DELETE, idempotently', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const first = await call(`/api/v1/codes/${code.id}`, { key, method: 'DELETE' })
    expect(await first.json()).toMatchObject({ status: 'archived', version: 2 })
    const again = await call(`/api/v1/codes/${code.id}`, { key, method: 'DELETE' })
    expect(await again.json()).toMatchObject({ status: 'archived', version: 2 })
  })

  it('lists newest first with cursor pagination and filters', async () => {
    const { key } = await newMerchant()
    const made: string[] = []
    for (let i = 0; i < 5; i++) {
      const code = await createCode(key, {
        action: i % 2 ? 'checkout' : 'redirect',
        ...(i % 2
          ? { currency: 'usd', amount: 100 + i, description: `item ${i}` }
          : { destination_url: `https://example.com/${i}` }),
      })
      made.push(code.id)
    }
    const seen = await pageThrough('/api/v1/codes', key, 2)
    expect(seen.map((c) => c.id)).toEqual([...made].reverse())

    const checkout = await call('/api/v1/codes?action=checkout', { key })
    const body = (await checkout.json()) as { data: { action: string }[] }
    expect(body.data).toHaveLength(2)
    expect(body.data.every((c) => c.action === 'checkout')).toBe(true)
  })

  it('creates, lists and revokes API keys; the secret is shown once', async () => {
    const { key } = await newMerchant()
    const created = await call('/api/v1/api-keys', { key, json: { name: 'POS terminal' } })
    expect(created.status).toBe(201)
    // The secret (like any merchant's data) is never for a shared cache.
    expect(created.headers.get('cache-control')).toBe('no-store')
    const newKey = (await created.json()) as { id: string; key: string; last4: string }
    expect(newKey.key).toMatch(/^qrk_[0-9A-Za-z]{32}$/)
    expect(newKey.last4).toBe(newKey.key.slice(-4))

    const works = await call('/api/v1/codes', { key: newKey.key })
    expect(works.status).toBe(200)
    expect(works.headers.get('cache-control')).toBe('no-store')

    const listed = await call('/api/v1/api-keys', { key })
    const list = (await listed.json()) as { data: Record<string, unknown>[] }
    expect(list.data).toHaveLength(2)
    expect(JSON.stringify(list)).not.toContain(newKey.key)
    // Newest first, page by page, like every list; more keys than a page.
    const more: string[] = []
    for (let i = 0; i < 3; i++) {
      const made = await call('/api/v1/api-keys', { key, json: { name: `till ${i}` } })
      more.push(((await made.json()) as { id: string }).id)
    }
    const paged = await pageThrough('/api/v1/api-keys', key, 2)
    expect(paged.map((k) => k.id)).toEqual([...more.reverse(), newKey.id, list.data[1]?.id])
    expect((await call('/api/v1/api-keys?cursor=bogus', { key })).status).toBe(400)
    expect((await call('/api/v1/api-keys?limit=101', { key })).status).toBe(400)

    const revoked = await call(`/api/v1/api-keys/${newKey.id}`, { key, method: 'DELETE' })
    expect(revoked.status).toBe(200)
    expect((await revoked.json()) as object).toMatchObject({
      id: newKey.id,
      revoked_at: expect.any(String),
    })
    expect((await call('/api/v1/codes', { key: newKey.key })).status).toBe(401)
  })

  it('serves the OpenAPI document and the reference page', async () => {
    const doc = await call('/openapi.json')
    expect(doc.status).toBe(200)
    const spec = (await doc.json()) as {
      paths: Record<string, unknown>
      components: { schemas: object }
    }
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/codes',
        '/api/v1/codes/{id}',
        '/api/v1/codes/{id}/scans',
        '/api/v1/api-keys',
        '/api/v1/api-keys/{id}',
        '/qr/{file}',
      ]),
    )
    expect(spec.components.schemas).toHaveProperty('Problem')
    const docs = await call('/docs')
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain('/openapi.json')
  })
})
