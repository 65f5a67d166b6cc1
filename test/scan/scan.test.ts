import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import {
  CODE_CACHE_TTL_MS,
  cachedCode,
  cacheKey,
  clearIsolateCache,
  forgetCode,
  ISOLATE_CACHE_MAX,
  REFRESH_AHEAD_MS,
  type ResolveContext,
  resolveCode,
  UNKNOWN_CACHE_MAX,
} from '../../src/codes/cache'
import { hubFor } from '../../src/hub/client'
import { payForm } from '../checkout/support'
import {
  call,
  createCode,
  flushHub,
  IPHONE,
  merchantWithCode,
  newMerchant,
  ORIGIN,
} from '../helpers'

const SLACKBOT = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'
const CF = { country: 'DE', region: 'Berlin', city: 'Berlin', colo: 'TXL' }

/** The code's scans in D1, once its hub has flushed them. */
async function scansOf(codeId: string) {
  await flushHub(codeId)
  const { results } = await env.DB.prepare(
    'select * from scans where code_id = ? order by scanned_at',
  )
    .bind(codeId)
    .all()
  return results as Record<string, unknown>[]
}

beforeEach(() => clearIsolateCache())

/** An edit of a code's destination made straight in D1, as another location would. */
const setDestination = (codeId: string, url: string) =>
  env.DB.prepare('update codes set destination_url = ? where id = ?').bind(url, codeId).run()

/** What another isolate of this location leaves in the Cache API for a slug. */
const cacheAsAnotherIsolate = (slug: string, entry: { code: unknown; readAt: number }) =>
  caches.default.put(
    cacheKey(ORIGIN, slug),
    new Response(JSON.stringify(entry), { headers: { 'cache-control': 'max-age=86400' } }),
  )

/** A resolve context whose D1 counts the statements prepared, and whose waitUntil can be awaited. */
/**
 * A redirect code to https://example.com/a, a counting resolve context, and the clock (Date
 * only) faked from `start`; the test restores real timers.
 */
async function redirectUnderFakeClock() {
  const { code } = await merchantWithCode({
    action: 'redirect',
    destination_url: 'https://example.com/a',
  })
  const counting = countingContext()
  const start = Date.now()
  vi.useFakeTimers({ toFake: ['Date'], now: start })
  return { code, ...counting, start }
}

function countingContext() {
  let prepared = 0
  const pending: Promise<unknown>[] = []
  const d1 = new Proxy(env.DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop)
      if (prop === 'prepare') {
        return (sql: string) => {
          prepared++
          return target.prepare(sql)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const context: ResolveContext = { d1, origin: ORIGIN, waitUntil: (p) => pending.push(p) }
  return {
    context,
    reads: () => prepared,
    /** Waits for the background work so far (refreshes, Cache API writes). */
    settle: async () => {
      while (pending.length) await Promise.allSettled(pending.splice(0))
    },
  }
}

describe('GET /{slug}: the scan path', () => {
  it('redirects an active redirect code with 302, no-store and noindex, and records the scan', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/menu',
    })
    const response = await call(`/${code.slug}`, {
      headers: {
        'user-agent': IPHONE,
        referer: 'https://instagram.com/p/1',
        'cf-connecting-ip': '203.0.113.9',
      },
      cf: CF,
    })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('https://example.com/menu')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('x-robots-tag')).toBe('noindex')

    const [scan, ...rest] = await scansOf(code.id)
    expect(rest).toHaveLength(0)
    expect(scan).toMatchObject({
      method: 'GET',
      is_bot: 0,
      device: 'mobile',
      browser: 'Safari',
      os: 'iOS',
      country: 'DE',
      region: 'Berlin',
      city: 'Berlin',
      colo: 'TXL',
      referrer_host: 'instagram.com',
    })
    expect(scan?.visitor_hash).toMatch(/^[0-9a-f]{32}$/)
    expect(JSON.stringify(scan)).not.toContain('203.0.113.9')
  })

  it('answers a warm scan (before routing) exactly like the first, cold one, and records both', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/menu',
    })
    const headers = { 'user-agent': IPHONE, 'cf-connecting-ip': '203.0.113.9' }
    const cold = await call(`/${code.slug}`, { headers, cf: CF })
    const warm = await call(`/${code.slug.toUpperCase()}`, { headers, cf: CF })
    const head = await call(`/${code.slug}`, { method: 'HEAD', headers, cf: CF })
    for (const response of [cold, warm, head]) {
      expect(response.status).toBe(302)
      expect(response.headers.get('location')).toBe('https://example.com/menu')
      for (const [name, value] of Object.entries({
        'cache-control': 'no-store',
        'x-robots-tag': 'noindex',
        'strict-transport-security': 'max-age=15552000; includeSubDomains',
      })) {
        expect(response.headers.get(name), name).toBe(value)
      }
      expect(await response.text()).toBe('')
    }
    const scans = await scansOf(code.id)
    expect(scans.map((s) => [s.method, s.is_bot, s.country])).toEqual([
      ['GET', 0, 'DE'],
      ['GET', 0, 'DE'],
      ['HEAD', 1, 'DE'],
    ])
    expect(scans[1]?.visitor_hash).toBe(scans[0]?.visitor_hash)
    expect(await hubFor(env, code.id).counters()).toMatchObject({
      scans: 3,
      human: 2,
      bot: 1,
      human_qr: 1,
      human_direct: 1,
    })
  })

  it('leaves a warm code that was paused meanwhile to the route: the paused page, not a redirect', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/menu',
    })
    expect((await call(`/${code.slug}`)).status).toBe(302)
    const paused = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { status: 'paused' },
    })
    expect(paused.status).toBe(200)
    const response = await call(`/${code.slug}`)
    expect(response.status).toBe(503)
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await response.text()).toContain('paused')
  })

  it('gives the same visitor the same hash within a day and a different one for another IP', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    for (const ip of ['203.0.113.9', '203.0.113.9', '198.51.100.7']) {
      await call(`/${code.slug}`, { headers: { 'user-agent': IPHONE, 'cf-connecting-ip': ip } })
    }
    const hashes = (await scansOf(code.id)).map((s) => s.visitor_hash)
    expect(hashes[0]).toBe(hashes[1])
    expect(hashes[2]).not.toBe(hashes[0])
  })

  it('records link previews and HEAD requests as bots', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const preview = await call(`/${code.slug}`, { headers: { 'user-agent': SLACKBOT } })
    expect(preview.status).toBe(302)
    const head = await call(`/${code.slug}`, { method: 'HEAD', headers: { 'user-agent': IPHONE } })
    expect(head.status).toBe(302)
    const scans = await scansOf(code.id)
    expect(scans.map((s) => [s.method, s.is_bot])).toEqual([
      ['GET', 1],
      ['HEAD', 1],
    ])
  })

  it('ignores query parameters when choosing the destination', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/',
    })
    const response = await call(
      `/${code.slug}?url=https://evil.example&destination=https://evil.example`,
    )
    expect(response.headers.get('location')).toBe('https://example.com/')
  })

  it('matches slugs case-insensitively', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/',
      slug: 'cafe-luna',
    })
    const response = await call('/CAFE-Luna')
    expect(response.status).toBe(302)
    expect(await scansOf(code.id)).toHaveLength(1)
  })

  it('shows the checkout page of an active checkout code with the amount in the customer locale', async () => {
    const { code, merchantId } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 1250,
      description: 'Lunch menu',
    })
    // As if the merchant had proved the domain (test/admin/domain.test.ts): the page shows it.
    await env.DB.prepare('update merchants set domain_verified_at = ? where id = ?')
      .bind(Date.now(), merchantId)
      .run()
    const response = await call(`/${code.slug}`, {
      headers: { 'accept-language': 'de-DE,de;q=0.9' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await response.text()
    expect(html).toContain('Café Luna')
    expect(html).toContain('cafeluna.example')
    expect(html).toContain('Lunch menu')
    expect(html).toContain('12,50\u00a0€')
    // The form says which locale its amounts were shown in, for reading the amount typed.
    expect(html).toContain('<input type="hidden" name="locale" value="de-DE"/>')
    expect(await scansOf(code.id)).toHaveLength(1)
  })

  it('formats zero-decimal amounts without a decimal part', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'jpy',
      amount: 500,
      description: 'Onigiri',
    })
    const html = await (
      await call(`/${code.slug}`, { headers: { 'accept-language': 'en-US' } })
    ).text()
    expect(html).toContain('¥500')
    expect(html).not.toContain('¥5.00')
  })

  it('escapes everything a merchant typed', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'usd',
      amount: 500,
      description: '<script>alert(1)</script><img src=x onerror=alert(2)>',
    })
    const html = await (await call(`/${code.slug}`)).text()
    expect(html).not.toContain('<script>alert(1)')
    expect(html).not.toContain('<img src=x')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  it('answers unknown slugs with a 404 page and records nothing', async () => {
    const count = async () =>
      (await env.DB.prepare('select count(*) as n from scans').first<{ n: number }>())?.n
    const before = await count()
    const response = await call('/doesnotexist')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toContain('text/html')
    const html = await response.text()
    expect(html).toContain('does not exist')
    expect(html).toContain('<svg class="i-search"')
    expect(html).not.toMatch(/\p{Extended_Pictographic}/u)
    expect(await count()).toBe(before)
  })

  it('shows paused codes as 503, archived and expired codes as 410', async () => {
    const { key } = await newMerchant()
    const paused = await createCode(key, {
      action: 'redirect',
      destination_url: 'https://example.com',
      status: 'paused',
    })
    const response = await call(`/${paused.slug}`)
    expect(response.status).toBe(503)
    expect(await response.text()).toContain('paused')

    const archived = await createCode(key, {
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    await call(`/api/v1/codes/${archived.id}`, { key, method: 'DELETE' })
    const gone = await call(`/${archived.slug}`)
    expect(gone.status).toBe(410)
    expect(gone.headers.get('location')).toBeNull()

    const expiring = await createCode(key, {
      action: 'checkout',
      currency: 'usd',
      amount: 100,
      description: 'x',
    })
    await env.DB.prepare('update codes set expires_at = ? where id = ?')
      .bind(Date.now() - 1000, expiring.id)
      .run()
    clearIsolateCache()
    expect((await call(`/${expiring.slug}`)).status).toBe(410)
  })

  it('sees an edit once the cache bound has passed, and at once in the editing location', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/old',
    })
    expect((await call(`/${code.slug}`)).headers.get('location')).toBe('https://example.com/old')
    await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { destination_url: 'https://example.com/new' },
    })
    expect((await call(`/${code.slug}`)).headers.get('location')).toBe('https://example.com/new')

    // An edit made elsewhere (another location's API: straight in D1, this isolate not told):
    // the cached entry answers until the bound, then the new value.
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    try {
      await env.DB.prepare(
        'update codes set destination_url = ?, version = version + 1 where id = ?',
      )
        .bind('https://example.com/newer', code.id)
        .run()
      const location = async () => (await call(`/${code.slug}`)).headers.get('location')
      expect(await location()).toBe('https://example.com/new')
      vi.setSystemTime(start + CODE_CACHE_TTL_MS + 1)
      expect(await location()).toBe('https://example.com/newer')
    } finally {
      vi.useRealTimers()
    }
  })

  it('answers a warm scan from the isolate cache without touching D1', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/a',
    })
    await call(`/${code.slug}`)
    // Change the row behind the cache's back: a warm scan must not see it (no D1 read).
    await setDestination(code.id, 'https://example.com/b')
    expect((await call(`/${code.slug}`)).headers.get('location')).toBe('https://example.com/a')
  })

  it('keeps the codes people scan in the isolate cache through a flood of unknown slugs', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/a',
    })
    const context = (): ResolveContext => ({ d1: env.DB, origin: ORIGIN, waitUntil: () => {} })
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    try {
      expect((await resolveCode(code.slug, context()))?.destinationUrl).toBe(
        'https://example.com/a',
      )
      // More unknown slugs than the isolate's whole cache of codes holds, each read from D1.
      const flood = ISOLATE_CACHE_MAX + 1
      for (let i = 0; i < flood; i++) expect(await resolveCode(`nope-${i}`, context())).toBeNull()
      expect(cachedCode(code.slug, context)?.destinationUrl).toBe('https://example.com/a')
      // The unknown ones live in their own, smaller LRU: the newest are there, the oldest gone.
      expect(cachedCode(`nope-${flood - 1}`, context)).toBeNull()
      expect(cachedCode(`nope-${flood - UNKNOWN_CACHE_MAX - 1}`, context)).toBeUndefined()
    } finally {
      vi.useRealTimers()
    }
  }, 30_000)

  it('re-reads a busy code in the background before its entry expires, never making a scan wait', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/a',
    })
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    try {
      await call(`/${code.slug}`)
      await setDestination(code.id, 'https://example.com/b')
      vi.setSystemTime(start + REFRESH_AHEAD_MS + 100)
      // Still within the bound: answered from the isolate, while the entry is refreshed behind it.
      expect((await call(`/${code.slug}`)).headers.get('location')).toBe('https://example.com/a')
      expect((await call(`/${code.slug}`)).headers.get('location')).toBe('https://example.com/b')
    } finally {
      vi.useRealTimers()
    }
  })

  it('reads an unknown slug from D1 at most once per 5 s however often it is scanned', async () => {
    const { context, reads, settle } = countingContext()
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    try {
      for (let t = 0; t < 10_000; t += 500) {
        vi.setSystemTime(start + t)
        expect(await resolveCode('nope-steady', context)).toBeNull()
        await settle()
      }
      // At 0 and at 5 s, when the entry expired: never re-read ahead like a code that exists.
      expect(reads()).toBe(2)
    } finally {
      vi.useRealTimers()
    }
  })

  it('re-reads ahead from an entry another isolate of this location just read, not from D1', async () => {
    const { code, context, reads, settle, start } = await redirectUnderFakeClock()
    try {
      const read = await resolveCode(code.slug, context)
      expect(read?.destinationUrl).toBe('https://example.com/a')
      expect(reads()).toBe(1)
      await settle()
      // D1 changes; another isolate here reads it at 2 s and stores it in the Cache API.
      await setDestination(code.id, 'https://example.com/b')
      const theirs = {
        code: { ...read, destinationUrl: 'https://example.com/c' },
        readAt: start + 2_000,
      }
      await cacheAsAnotherIsolate(code.slug, theirs)
      vi.setSystemTime(start + REFRESH_AHEAD_MS + 100)
      expect(cachedCode(code.slug, () => context)?.destinationUrl).toBe('https://example.com/a')
      await settle()
      // Their entry (c), not a second D1 read (b).
      expect(reads()).toBe(1)
      expect(cachedCode(code.slug, () => context)?.destinationUrl).toBe('https://example.com/c')
      // It keeps their read time: it expires 5 s after 2 s, then D1 is read.
      vi.setSystemTime(start + 2_000 + CODE_CACHE_TTL_MS)
      expect((await resolveCode(code.slug, context))?.destinationUrl).toBe('https://example.com/b')
      expect(reads()).toBe(2)
    } finally {
      vi.useRealTimers()
    }
  })

  it('never brings back, in the isolate that made an edit, an entry read before it', async () => {
    const { code, context, settle, start } = await redirectUnderFakeClock()
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const match = caches.default.match.bind(caches.default)
    try {
      const read = await resolveCode(code.slug, context)
      await settle()
      // Another isolate here stored "c" at 2 s.
      const theirs = {
        code: { ...read, destinationUrl: 'https://example.com/c' },
        readAt: start + 2_000,
      }
      await cacheAsAnotherIsolate(code.slug, theirs)
      // The background re-read's Cache API lookup gets "c", then is held until after the edit.
      vi.spyOn(caches.default, 'match').mockImplementationOnce(async (...args) => {
        const found = await match(...args)
        await held
        return found
      })
      vi.setSystemTime(start + REFRESH_AHEAD_MS + 100)
      expect(cachedCode(code.slug, () => context)?.destinationUrl).toBe('https://example.com/a')
      await new Promise((resolve) => setTimeout(resolve, 20))
      // The edit, made here: D1 says "b", and this isolate drops the slug.
      await setDestination(code.id, 'https://example.com/b')
      vi.setSystemTime(start + REFRESH_AHEAD_MS + 200)
      await forgetCode(code.slug, ORIGIN)
      expect((await resolveCode(code.slug, context))?.destinationUrl).toBe('https://example.com/b')
      release()
      await settle()
      expect(cachedCode(code.slug, () => context)?.destinationUrl).toBe('https://example.com/b')
    } finally {
      vi.restoreAllMocks()
      vi.useRealTimers()
    }
  })

  it('does not serve, in the isolate that made an edit, a Cache API entry read before it', async () => {
    const { code, context, settle, start } = await redirectUnderFakeClock()
    try {
      const read = await resolveCode(code.slug, context)
      await settle()
      await setDestination(code.id, 'https://example.com/b')
      vi.setSystemTime(start + 100)
      await forgetCode(code.slug, ORIGIN)
      // Another isolate's read from before the edit lands in the Cache API after the delete.
      const stale = { code: read, readAt: start + 50 }
      await cacheAsAnotherIsolate(code.slug, stale)
      vi.setSystemTime(start + 200)
      expect((await resolveCode(code.slug, context))?.destinationUrl).toBe('https://example.com/b')
    } finally {
      vi.useRealTimers()
    }
  })

  it('tells scans of the printed QR (the slug in capitals) from the link typed or shared', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/',
      slug: 'menu-7',
    })
    expect(code.qr_content).toBe(`${ORIGIN}/MENU-7`)
    const qr = await call(`/${new URL(String(code.qr_content)).pathname.slice(1)}`, {
      headers: { 'user-agent': IPHONE },
    })
    expect(qr.status).toBe(302)
    await call('/menu-7', { headers: { 'user-agent': IPHONE } })
    await call('/Menu-7', { headers: { 'user-agent': IPHONE } })
    await call('/MENU-7', { headers: { 'user-agent': SLACKBOT } })
    const counters = await hubFor(env, code.id).counters()
    expect(counters).toMatchObject({ human: 3, bot: 1, human_qr: 1, human_direct: 2 })
  })

  it('keeps the route words for our own routes', async () => {
    const docs = await call('/docs')
    expect(docs.status).toBe(200)
    const health = await call('/health')
    expect(await health.json()).toEqual({ ok: true })
  })
})

describe('customer pages', () => {
  it('are standards-mode HTML with a language', async () => {
    const html = await (await call('/doesnotexist')).text()
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true)
  })

  it('carry the strict page headers for a slug that starts like a route ("admin-fees")', async () => {
    const { key } = await newMerchant()
    await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Fees',
      slug: 'admin-fees',
    })
    const pages = [
      await call('/admin-fees'),
      await call('/%61dmin-fees'),
      await call('/admin-fees/return/pay_abc'),
      await payForm('admin-fees'),
    ]
    expect(pages.map((r) => r.status)).toEqual([200, 200, 404, 303])
    for (const page of pages) {
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })
})

describe('the entry: which app answers', () => {
  it('sends one-segment slugs, the stylesheet, /health and /robots.txt to the small scan-path app only', async () => {
    const { isEdgePath } = await import('../../src/index')
    const { CSS_PATH } = await import('../../src/pages/styles')
    for (const path of ['/abcdefgh', '/Cafe-Luna', '/health', '/robots.txt', CSS_PATH])
      expect(isEdgePath(path), path).toBe(true)
    for (const path of [
      '/docs',
      '/admin',
      '/API',
      '/openapi.json',
      '/abcdefgh/pay',
      '/qr/abc.svg',
      '/r/rcpt_x',
      '/robots',
      '/ab',
      '/',
    ])
      expect(isEdgePath(path), path).toBe(false)
  })
})

describe('/robots.txt', () => {
  it('asks every crawler to keep out, as cacheable plain text', async () => {
    const response = await call('/robots.txt')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400')
    expect(await response.text()).toBe('User-agent: *\nDisallow: /\n')
  })
})
