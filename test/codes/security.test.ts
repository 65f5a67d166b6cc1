import { describe, expect, it } from 'vitest'
import { call, createCode, newMerchant, problemOf } from '../helpers'

describe('codes API: authentication and tenant isolation', () => {
  it.each([
    ['no Authorization header', {}],
    ['a non-Bearer scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a malformed key', { authorization: 'Bearer nope' }],
    ['an unknown well-formed key', { authorization: `Bearer qrk_${'A'.repeat(32)}` }],
  ])('refuses %s with 401 and a Bearer challenge', async (_name, headers) => {
    const response = await call('/api/v1/codes', { headers })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('Bearer')
    expect((await problemOf(response)).code).toBe('unauthorized')
  })

  it('refuses a revoked key, even the one used to revoke itself', async () => {
    const { key, keyId } = await newMerchant()
    const revoked = await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    expect(revoked.status).toBe(200)
    expect((await call('/api/v1/codes', { key })).status).toBe(401)
  })

  it("answers 404 for another merchant's code on every endpoint, and changes nothing", async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const code = await createCode(alice.key, {
      action: 'redirect',
      destination_url: 'https://alice.example',
    })
    const attempts: [string, string, unknown?][] = [
      ['GET', `/api/v1/codes/${code.id}`],
      ['PATCH', `/api/v1/codes/${code.id}`, { destination_url: 'https://evil.example' }],
      ['DELETE', `/api/v1/codes/${code.id}`],
      ['GET', `/api/v1/codes/${code.id}/scans`],
    ]
    for (const [method, path, json] of attempts) {
      const response = await call(path, { key: bob.key, method, json })
      expect(response.status, `${method} ${path}`).toBe(404)
      expect((await problemOf(response)).code).toBe('not_found')
    }
    const list = (await (await call('/api/v1/codes', { key: bob.key })).json()) as {
      data: unknown[]
    }
    expect(list.data).toHaveLength(0)
    const still = (await (
      await call(`/api/v1/codes/${code.id}`, { key: alice.key })
    ).json()) as object
    expect(still).toMatchObject({
      destination_url: 'https://alice.example/',
      status: 'active',
      version: 1,
    })
  })

  it("cannot list or revoke another merchant's keys", async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const revoke = await call(`/api/v1/api-keys/${alice.keyId}`, { key: bob.key, method: 'DELETE' })
    expect(revoke.status).toBe(404)
    const list = (await (await call('/api/v1/api-keys', { key: bob.key })).json()) as {
      data: { id: string }[]
    }
    expect(list.data.map((k) => k.id)).toEqual([bob.keyId])
    expect((await call('/api/v1/codes', { key: alice.key })).status).toBe(200)
  })

  it('stores only a hash of each key', async () => {
    const { key } = await newMerchant()
    const { env } = await import('cloudflare:workers')
    const rows = await env.DB.prepare('select * from api_keys').all()
    expect(JSON.stringify(rows.results)).not.toContain(key)
  })
})
