import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, createCode, merchantWithCode, newMerchant, pageThrough, problemOf } from '../helpers'

type Change = {
  field: string
  old_value: string | null
  new_value: string | null
  actor: string
  version: number
}

async function changesOf(key: string, id: string) {
  const response = await call(`/api/v1/codes/${id}/changes`, { key })
  expect(response.status).toBe(200)
  return ((await response.json()) as { data: Change[] }).data
}

describe('the audit log of a code', () => {
  it('pages through every change, newest first', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, {
      action: 'redirect',
      destination_url: 'https://example.com/0',
    })
    for (let i = 1; i <= 5; i++) {
      const edit = await call(`/api/v1/codes/${code.id}`, {
        key,
        method: 'PATCH',
        json: { destination_url: `https://example.com/${i}` },
      })
      expect(edit.status).toBe(200)
    }
    const changes = await pageThrough<Change>(`/api/v1/codes/${code.id}/changes`, key, 2)
    expect(changes.map((c) => c.new_value)).toEqual(
      [5, 4, 3, 2, 1].map((i) => `https://example.com/${i}`),
    )
    expect(changes.map((c) => c.version)).toEqual([6, 5, 4, 3, 2])
    for (const query of ['cursor=bogus', 'limit=0', 'limit=101', 'page=2']) {
      const bad = await call(`/api/v1/codes/${code.id}/changes?${query}`, { key })
      expect(bad.status, query).toBe(400)
      expect((await problemOf(bad)).code).toBe('validation_failed')
    }
  })

  it('keeps every change of destination and status with who, old and new', async () => {
    const { key, keyId } = await newMerchant()
    const code = await createCode(key, {
      action: 'redirect',
      destination_url: 'https://example.com/a',
    })
    await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { destination_url: 'https://example.com/b' },
    })
    await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { metadata: { note: 'not audited' } },
    })
    await call(`/api/v1/codes/${code.id}`, { key, method: 'DELETE' })
    expect(await changesOf(key, code.id)).toEqual([
      expect.objectContaining({
        field: 'status',
        old_value: 'active',
        new_value: 'archived',
        version: 4,
      }),
      expect.objectContaining({
        field: 'destination_url',
        old_value: 'https://example.com/a',
        new_value: 'https://example.com/b',
        actor: `api_key:${keyId}`,
        version: 2,
      }),
    ])
  })

  it('records each amount field that changes, and nothing for a no-op', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    await call(`/api/v1/codes/${code.id}`, { key, method: 'PATCH', json: { amount: 450 } })
    expect(await changesOf(key, code.id)).toEqual([])
    await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { amount_min: 100, amount_max: 900 },
    })
    const fields = (await changesOf(key, code.id)).map((c) => [c.field, c.old_value, c.new_value])
    expect(fields).toEqual(
      expect.arrayContaining([
        ['amount', '450', null],
        ['amount_min', null, '100'],
        ['amount_max', null, '900'],
      ]),
    )
    expect(fields).toHaveLength(3)
  })

  it('logs only the edit that won when two edits race', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/a',
    })
    const results = await Promise.all(
      ['b', 'c', 'd', 'e'].map((path) =>
        call(`/api/v1/codes/${code.id}`, {
          key,
          method: 'PATCH',
          json: { destination_url: `https://example.com/${path}` },
        }),
      ),
    )
    const won = results.filter((r) => r.status === 200).length
    expect(won).toBeGreaterThanOrEqual(1)
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true)
    const log = await changesOf(key, code.id)
    expect(log).toHaveLength(won)
    const row = await env.DB.prepare('select version, destination_url from codes where id = ?')
      .bind(code.id)
      .first<{
        version: number
        destination_url: string
      }>()
    expect(row?.version).toBe(1 + won)
    expect(log[0]?.new_value).toBe(row?.destination_url)
  })

  it("is another merchant's 404", async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const code = await createCode(alice.key, {
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    expect((await call(`/api/v1/codes/${code.id}/changes`, { key: bob.key })).status).toBe(404)
  })
})
