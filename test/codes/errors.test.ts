import { describe, expect, it } from 'vitest'
import { call, createCode, merchantWithCode, newMerchant, problemOf } from '../helpers'

const redirect = { action: 'redirect', destination_url: 'https://example.com' }
const checkout = { action: 'checkout', currency: 'usd', amount: 500, description: 'Coffee' }

async function rejectsCreate(body: unknown, status: number, code: string, path?: string) {
  const { key } = await newMerchant()
  const response = await call('/api/v1/codes', { key, json: body })
  expect(response.status).toBe(status)
  const problem = await problemOf(response)
  expect(problem.code).toBe(code)
  expect(problem.type).toBe(`urn:qrcheckout:problem:${code}`)
  if (path) expect(problem.errors?.map((e) => e.path)).toContain(path)
  return problem
}

describe('codes API: bad input gets a clear 4xx', () => {
  it.each([
    ['unknown field', { ...redirect, colour: 'red' }, 'body'],
    ['wrong type', { ...checkout, amount: '500' }, 'body.amount'],
    ['fractional amount', { ...checkout, amount: 4.5 }, 'body.amount'],
    ['negative amount', { ...checkout, amount: -1 }, 'body.amount'],
    ['unknown action', { action: 'teleport' }, 'body.action'],
    ['over-long description', { ...checkout, description: 'x'.repeat(501) }, 'body.description'],
    [
      'too many metadata keys',
      { ...redirect, metadata: Object.fromEntries([...Array(21)].map((_, i) => [`k${i}`, 'v'])) },
      'body.metadata',
    ],
    [
      'over-long metadata value',
      { ...redirect, metadata: { k: 'v'.repeat(501) } },
      'body.metadata.k',
    ],
    ['bad currency shape', { ...checkout, currency: 'euro' }, 'body.currency'],
    ['unsupported currency', { ...checkout, currency: 'xyz' }, 'body.currency'],
    ['bad vanity slug', { ...redirect, slug: 'a b' }, 'body.slug'],
    ['short vanity slug', { ...redirect, slug: 'ab' }, 'body.slug'],
    ['bad expiry', { ...redirect, expires_at: 'tomorrow' }, 'body.expires_at'],
    // D1 cannot store a lone surrogate: it would read back as three U+FFFD (see lib/text.ts).
    [
      'description with a lone surrogate',
      { ...checkout, description: 'Caf\ud800' },
      'body.description',
    ],
    ['reference with a lone surrogate', { ...redirect, reference: '\udc00x' }, 'body.reference'],
    [
      'metadata value with a lone surrogate',
      { ...redirect, metadata: { k: '\ud83d' } },
      'body.metadata.k',
    ],
    // zod would leave the key out of the stored metadata without a word.
    [
      'metadata key "__proto__"',
      { ...redirect, metadata: JSON.parse('{"__proto__":"x"}') },
      'body.metadata',
    ],
  ])('rejects %s', async (_name, body, path) => {
    await rejectsCreate(body, 400, 'validation_failed', path)
  })

  it.each([
    ['javascript: URL', 'javascript:alert(1)', 'scheme'],
    ['data: URL', 'data:text/html,<b>x</b>', 'scheme'],
    ['plain http without opt-in', 'http://example.com', 'https'],
    ['credentials in the URL', 'https://user:pass@example.com', 'credentials'],
    ['relative URL', '/menu', 'absolute'],
    ['over-long URL', `https://example.com/${'a'.repeat(2100)}`, '2048'],
    ['single-label host', 'https://intranet/', 'host'],
    ['host of one dot', 'https://./', 'host'],
    ['host of two dots', 'https://../', 'host'],
    ['host with an empty label', 'https://a..example/', 'host'],
  ])('rejects a %s destination', async (_name, url, words) => {
    const problem = await rejectsCreate(
      { ...redirect, destination_url: url },
      400,
      'validation_failed',
      'body.destination_url',
    )
    expect(problem.detail).toContain(words)
  })

  it('refuses allow_http on a checkout code, which has no destination', async () => {
    const { key, code } = await merchantWithCode()
    const response = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { allow_http: true },
    })
    expect(response.status).toBe(400)
    expect((await problemOf(response)).errors?.map((e) => e.path)).toContain('body.allow_http')
    const after = (await (await call(`/api/v1/codes/${code.id}`, { key })).json()) as {
      version: number
    }
    expect(after.version).toBe(1)
  })

  it('refuses an API key name that is not valid Unicode', async () => {
    const { key } = await newMerchant()
    const response = await call('/api/v1/api-keys', { key, json: { name: 'POS \ud800' } })
    expect(response.status).toBe(400)
    expect((await problemOf(response)).errors?.map((e) => e.path)).toContain('body.name')
  })

  it('accepts http when the merchant opts in', async () => {
    const { code } = await merchantWithCode({
      ...redirect,
      destination_url: 'http://example.com/',
      allow_http: true,
    })
    expect(code.destination_url).toBe('http://example.com/')
  })

  it.each([
    ['below the USD minimum', 'usd', 49, 'at least'],
    ['above 8 digits', 'usd', 100_000_000, 'at most'],
    ['a three-decimal amount not ending in 0', 'kwd', 1005, 'end in 0'],
    ['below the JPY minimum (zero-decimal, not x100)', 'jpy', 49, 'at least 50'],
  ])('rejects an amount %s', async (_name, currency, amount, words) => {
    const problem = await rejectsCreate(
      { ...checkout, currency, amount },
      400,
      'validation_failed',
      'body.amount',
    )
    expect(problem.detail).toContain(words)
  })

  it.each([
    ['JPY 50 (zero-decimal)', 'jpy', 50],
    ['KWD 1.010 (three-decimal)', 'kwd', 1010],
    ['USD 0.50', 'usd', 50],
    ['the 8-digit maximum', 'eur', 99_999_999],
  ])('accepts %s', async (_name, currency, amount) => {
    const { code } = await merchantWithCode({ ...checkout, currency, amount })
    expect(code.amount).toBe(amount)
  })

  it('rejects mixed and inverted amount bounds, and both fixed and open at once', async () => {
    await rejectsCreate(
      { ...checkout, amount: undefined, amount_min: 900, amount_max: 100 },
      400,
      'validation_failed',
      'body.amount_min',
    )
    await rejectsCreate(
      { ...checkout, amount_min: 100, amount_max: 900 },
      400,
      'validation_failed',
      'body.amount',
    )
    await rejectsCreate({ ...checkout, amount: undefined }, 400, 'validation_failed', 'body.amount')
    await rejectsCreate(
      { ...checkout, amount: undefined, amount_min: 100 },
      400,
      'validation_failed',
      'body.amount_max',
    )
  })

  it('rejects checkout fields on a redirect code', async () => {
    await rejectsCreate({ ...redirect, currency: 'usd' }, 400, 'validation_failed')
  })

  it('rejects an expiry in the past', async () => {
    await rejectsCreate(
      { ...redirect, expires_at: '2001-01-01T00:00:00Z' },
      400,
      'validation_failed',
      'body.expires_at',
    )
  })

  it('refuses a reserved or taken vanity slug', async () => {
    await rejectsCreate({ ...redirect, slug: 'API' }, 409, 'slug_reserved')
    // Cloudflare answers /cdn-cgi/* itself: a code there could never be scanned.
    const cdn = await rejectsCreate({ ...redirect, slug: 'CDN-CGI' }, 409, 'slug_reserved')
    expect(cdn.detail).toContain('"cdn-cgi" is used by qrcheckout itself')
    const { key } = await newMerchant()
    await createCode(key, { ...redirect, slug: 'cafe-luna' })
    const taken = await call('/api/v1/codes', { key, json: { ...redirect, slug: 'Cafe-Luna' } })
    expect(taken.status).toBe(409)
    expect((await problemOf(taken)).code).toBe('slug_taken')
  })

  it('answers malformed JSON, wrong content type and oversized bodies with a problem', async () => {
    const { key } = await newMerchant()
    const malformed = await call('/api/v1/codes', {
      key,
      method: 'POST',
      body: '{"action": "redirect",',
      headers: { 'content-type': 'application/json' },
    })
    expect(malformed.status).toBe(400)
    expect((await problemOf(malformed)).code).toBe('invalid_json')

    const form = await call('/api/v1/codes', {
      key,
      method: 'POST',
      body: 'action=redirect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(form.status).toBe(415)
    expect((await problemOf(form)).code).toBe('unsupported_media_type')

    const big = await call('/api/v1/codes', {
      key,
      json: { ...checkout, description: 'x'.repeat(20_000) },
    })
    expect(big.status).toBe(413)
    expect((await problemOf(big)).code).toBe('payload_too_large')

    const empty = await call('/api/v1/codes', {
      key,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    expect(empty.status).toBe(400)
  })

  it('rejects bad list queries and forged cursors', async () => {
    const { key } = await newMerchant()
    for (const query of [
      '?limit=0',
      '?limit=101',
      '?limit=abc',
      '?status=deleted',
      '?cursor=bm9wZQ',
      '?sort=asc',
    ]) {
      const response = await call(`/api/v1/codes${query}`, { key })
      expect(response.status, query).toBe(400)
      expect((await problemOf(response)).code).toBe('validation_failed')
    }
  })

  it('refuses a query parameter that an operation does not take, changing nothing', async () => {
    const { key, code } = await merchantWithCode(redirect)
    const path = `/api/v1/codes/${code.id}`
    for (const [method, json] of [
      ['GET', undefined],
      ['PATCH', { destination_url: 'https://example.com/new' }],
      ['DELETE', undefined],
    ] as const) {
      const response = await call(`${path}?expand=x`, { key, method, json })
      expect(response.status, method).toBe(400)
      const problem = await problemOf(response)
      expect(problem.code).toBe('validation_failed')
      expect(problem.errors?.map((e) => e.path)).toContain('query')
    }
    const after = (await (await call(path, { key })).json()) as { status: string; version: number }
    expect(after).toMatchObject({ status: code.status, version: code.version })
  })

  it('refuses content edits to a static code, and any edit to an archived one', async () => {
    const { key, code } = await merchantWithCode({ ...checkout, mode: 'static' })
    const edit = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { amount: 900 },
    })
    expect(edit.status).toBe(409)
    expect((await problemOf(edit)).code).toBe('code_immutable')
    const pause = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { status: 'paused' },
    })
    expect(pause.status).toBe(200)

    await call(`/api/v1/codes/${code.id}`, { key, method: 'DELETE' })
    const revive = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { status: 'active' },
    })
    expect(revive.status).toBe(409)
    expect((await problemOf(revive)).code).toBe('invalid_state')
  })

  it('validates an update against the merged code', async () => {
    const { key, code } = await merchantWithCode(redirect)
    const response = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { amount: 100 },
    })
    expect(response.status).toBe(400)
    const bad = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { destination_url: 'javascript:alert(1)' },
    })
    expect(bad.status).toBe(400)
    const unchanged = (await (await call(`/api/v1/codes/${code.id}`, { key })).json()) as {
      version: number
    }
    expect(unchanged.version).toBe(1)
  })

  it('answers unknown ids and malformed ids with problems', async () => {
    const { key } = await newMerchant()
    const unknown = await call('/api/v1/codes/code_doesnotexist', { key })
    expect(unknown.status).toBe(404)
    expect((await problemOf(unknown)).code).toBe('not_found')
    const malformed = await call('/api/v1/codes/not-an-id', { key })
    expect(malformed.status).toBe(400)
    const route = await call('/api/v1/nothing-here', { key })
    expect(route.status).toBe(404)
    expect((await problemOf(route)).code).toBe('not_found')
    expect((await call('/api/v1/nothing-here', { key, method: 'DELETE' })).status).toBe(404)
    // A path like a route's but for its trailing slash is not that route, under any method.
    for (const method of ['GET', 'DELETE'])
      expect((await call('/api/v1/codes/', { key, method })).status, method).toBe(404)
  })

  it('answers a method a path does not take with a 405 problem and Allow, changing nothing', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/a',
    })
    const cases = [
      ['DELETE', '/api/v1/codes', 'GET, HEAD, POST'],
      ['PUT', `/api/v1/codes/${code.id}`, 'DELETE, GET, HEAD, PATCH'],
      ['POST', `/api/v1/codes/${code.id}/stats`, 'GET, HEAD'],
      ['GET', `/api/v1/codes/${code.id}/live-token`, 'POST'],
      ['OPTIONS', '/api/v1/payments', 'GET, HEAD'],
    ] as const
    for (const [method, path, allow] of cases) {
      const response = await call(path, { key, method, json: method === 'GET' ? undefined : {} })
      expect(response.status, `${method} ${path}`).toBe(405)
      expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      const problem = await problemOf(response)
      expect(problem.code).toBe('method_not_allowed')
      expect(problem.detail).toContain(allow)
    }
    // Without a key it is the 401 every API path gives first.
    expect((await call('/api/v1/codes', { method: 'DELETE' })).status).toBe(401)
    const after = (await (await call(`/api/v1/codes/${code.id}`, { key })).json()) as {
      version: number
      status: string
    }
    expect(after).toMatchObject({ version: 1, status: 'active' })
  })
})
