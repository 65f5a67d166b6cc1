/**
 * `/docs`: the API reference rendered by us from /openapi.json, under the same headers as every
 * page, referencing nothing on another origin, listing every operation the document has.
 */
import { describe, expect, it } from 'vitest'
import { call } from '../helpers'

interface Spec {
  paths: Record<string, Record<string, unknown>>
  webhooks?: Record<string, Record<string, unknown>>
  components: { schemas: Record<string, unknown> }
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace']

async function reference() {
  const response = await call('/docs')
  return { response, html: await response.text() }
}

/** `METHOD /path` of every operation in the document. */
function operations(spec: Spec): string[] {
  return [...Object.entries(spec.paths), ...Object.entries(spec.webhooks ?? {})].flatMap(
    ([path, item]) =>
      METHODS.filter((method) => method in item).map((m) => `${m.toUpperCase()} ${path}`),
  )
}

/** The HTML of each operation's section, by `METHOD /path`. */
function sections(html: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of html.split('<section class="operation"').slice(1)) {
    const name = /data-operation="([^"]+)"/.exec(part)?.[1]
    if (name) out.set(name.replaceAll('&#39;', "'"), part)
  }
  return out
}

describe('GET /docs', () => {
  it('is an HTML page under the same security headers as every other page', async () => {
    const { response } = await reference()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=UTF-8')
    const page = await call('/no-such-code')
    for (const name of [
      'content-security-policy',
      'x-frame-options',
      'x-content-type-options',
      'referrer-policy',
      'cross-origin-opener-policy',
      'strict-transport-security',
    ]) {
      expect(response.headers.get(name), name).toBe(page.headers.get(name))
    }
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  it('has no script and references nothing on another origin', async () => {
    const { html } = await reference()
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/\sstyle=/i)
    const references = [...html.matchAll(/\s(?:src|href|action|srcset|poster)="([^"]*)"/gi)].map(
      (m) => m[1] ?? '',
    )
    expect(references.length).toBeGreaterThan(20)
    for (const url of references) {
      // Our own paths, anchors on the page, or the empty icon; never `//host` or `http(s)://`.
      expect(url, url).toMatch(/^(\/(?!\/)|#|data:,$)/)
    }
  })

  it('serves its stylesheet itself, cached for good, under the page headers', async () => {
    const { html } = await reference()
    const href = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1] ?? ''
    expect(href).toMatch(/^\/docs\/reference\.[0-9a-z]+\.css$/)
    const css = await call(href)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(css.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await css.text()).toContain('.operation,')
  })

  it('lists every operation of /openapi.json, each with an anchor the contents link to', async () => {
    const spec = (await (await call('/openapi.json')).json()) as Spec
    const { html } = await reference()
    const shown = sections(html)
    const expected = operations(spec)
    expect(expected.length).toBeGreaterThan(15)
    expect([...shown.keys()].sort()).toEqual([...expected].sort())
    const anchors = [...shown.values()].map((part) => /^\s*id="([^"]+)"/.exec(part)?.[1])
    expect(new Set(anchors).size).toBe(expected.length)
    for (const anchor of anchors) expect(html).toContain(`href="#${anchor}"`)
    expect(html).toContain('href="/openapi.json"')
  })

  it('shows what a caller needs: parameters, body fields, responses, security, schemas', async () => {
    const { html } = await reference()
    const shown = sections(html)
    const create = shown.get('POST /api/v1/codes') ?? ''
    expect(create).toContain('Create a code')
    expect(create).toContain('href="#security-bearer"')
    // The request body's variants and their fields, inline.
    expect(create).toContain('With <code>action: &quot;redirect&quot;</code>')
    expect(create).toContain('<code>destination_url</code><span class="required"> required</span>')
    expect(create).toContain('example <code>&quot;https://example.com/menu&quot;</code>')
    expect(create).toMatch(/<span class="status s2">201<\/span>/)
    expect(create).toContain('href="#schema-problem"')
    const qr = shown.get('GET /qr/{file}') ?? ''
    expect(qr).toContain('<code>size</code>')
    expect(qr).toContain('length')
    expect(qr).toContain('None: anyone may call this.')
    const live = shown.get('GET /api/v1/codes/{id}/live') ?? ''
    expect(live).toContain('Any one of:')
    expect(live).toContain('href="#security-livetoken"')
    const spec = (await (await call('/openapi.json')).json()) as Spec
    for (const name of Object.keys(spec.components.schemas)) {
      expect(html).toContain(`<h3><code>${name}</code></h3>`)
    }
  })

  it('escapes what the document says rather than rendering it as markup', async () => {
    const { html } = await reference()
    // The live feed's description quotes JSON with braces and quotes.
    expect(html).toContain('<code>{&quot;type&quot;:&quot;hello&quot;')
  })
})
