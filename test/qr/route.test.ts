import { describe, expect, it } from 'vitest'
import { renderQrSvg } from '../../src/qr/render'
import { call, createCode, merchantWithCode, newMerchant, ORIGIN, problemOf } from '../helpers'

async function svgOf(path: string, headers?: Record<string, string>) {
  const response = await call(path, { headers })
  return { response, text: await response.text() }
}

describe('GET /qr/{slug}.svg', () => {
  it('serves one path of runs, with immutable caching and a strong ETag', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const { response, text } = await svgOf(`/qr/${code.slug}.svg`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const etag = response.headers.get('etag')
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
    expect(text.startsWith('<svg')).toBe(true)
    expect(text.match(/<path/g)).toHaveLength(2) // background + modules
    expect(text).toContain('shape-rendering="crispEdges"')
    expect(text).toContain('width="512"')
    // An image that loads nothing, which merchants may embed from their own sites.
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'")
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')

    const again = await call(`/qr/${code.slug}.svg`, { headers: { 'if-none-match': etag ?? '' } })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
    expect(await again.text()).toBe('')
  })

  it('gives the same image and ETag on every request, and a new one for other options', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const a = await svgOf(`/qr/${code.slug}.svg?ecl=H&margin=2&fg=1a237e&size=300`)
    const b = await svgOf(`/qr/${code.slug}.svg?ecl=H&margin=2&fg=%231A237E&size=300`)
    expect(a.text).toBe(b.text)
    expect(a.response.headers.get('etag')).toBe(b.response.headers.get('etag'))
    expect(a.text).toContain('#1a237e')
    const c = await svgOf(`/qr/${code.slug}.svg`)
    expect(c.response.headers.get('etag')).not.toBe(a.response.headers.get('etag'))
  })

  it('offers a download with a file name', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
      slug: 'menu-board',
    })
    const { response } = await svgOf(`/qr/${code.slug}.svg?download=1`)
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="qr-menu-board.svg"',
    )
  })

  it.each([
    ['size=10', 'query.size'],
    ['size=big', 'query.size'],
    ['margin=-1', 'query.margin'],
    // Not 0: a QR without its quiet zone may not scan.
    ['margin=', 'query.margin'],
    ['ecl=X', 'query.ecl'],
    ['fg=red', 'query.fg'],
    ['bg=%23ggg', 'query.bg'],
    ['extra=1', 'query'],
  ])('rejects %s', async (query, path) => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const response = await call(`/qr/${code.slug}.svg?${query}`)
    expect(response.status).toBe(400)
    const problem = await problemOf(response)
    expect(problem.code).toBe('validation_failed')
    expect(problem.errors?.map((e) => e.path).join()).toContain(path)
  })

  it.each([
    ['too little contrast', 'fg=777777&bg=888888'],
    ['an inverted symbol', 'fg=ffffff&bg=000000'],
  ])('rejects colours with %s', async (_name, query) => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const response = await call(`/qr/${code.slug}.svg?${query}`)
    expect(response.status).toBe(400)
    expect((await problemOf(response)).code).toBe('qr_low_contrast')
  })

  it('answers an unknown slug with a 404 problem', async () => {
    const response = await call('/qr/doesnotexist.svg')
    expect(response.status).toBe(404)
    expect((await problemOf(response)).code).toBe('not_found')
  })

  it('answers content too long for a level with a 422, never a 500', async () => {
    const { key } = await newMerchant()
    // ~1,300 bytes fits at ECL M (2,331) but not at H (1,273).
    const code = await createCode(key, {
      action: 'redirect',
      mode: 'static',
      destination_url: `https://example.com/${'a'.repeat(1300)}`,
    })
    const response = await call(`/qr/${code.slug}.svg?ecl=H`)
    expect(response.status).toBe(422)
    expect((await problemOf(response)).code).toBe('qr_content_too_long')
  })

  it('encodes the short URL of a dynamic code', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    const shortUrl = `${ORIGIN}/${code.slug.toUpperCase()}`
    expect(code.qr_content).toBe(shortUrl)
    // The image itself is that URL's symbol (the renderer's own output is checked by decoding it
    // in test/node/qr-scan.test.ts), not the destination's.
    const svg = await (await call(`/qr/${code.slug}.svg`)).text()
    const options = { ecl: 'M', margin: 4, size: 512, fg: '#000000', bg: '#ffffff' } as const
    expect(svg).toBe(renderQrSvg(shortUrl, options))
    expect(svg).not.toBe(renderQrSvg('https://example.com', options))
  })
})

describe('GET /qr/{slug}.png', () => {
  const redirect = { action: 'redirect', destination_url: 'https://example.com' } as const

  it('serves a PNG with the same caching as the SVG: strong ETag, 304, the Cache API', async () => {
    const { code } = await merchantWithCode({ ...redirect, slug: 'png-menu' })
    const response = await call(`/qr/${code.slug}.png?size=300&fg=1a237e`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('image/png')
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'")
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    const etag = response.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
    const png = new Uint8Array(await response.arrayBuffer())
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const ihdr = new DataView(png.buffer, 16, 8)
    expect([ihdr.getUint32(0), ihdr.getUint32(4)]).toEqual([300, 300])

    // Same bytes from the second request (the Cache API copy), and a 304 on a match.
    const again = new Uint8Array(
      await (await call(`/qr/${code.slug}.png?size=300&fg=1a237e`)).arrayBuffer(),
    )
    expect(again).toEqual(png)
    const notModified = await call(`/qr/${code.slug}.png?size=300&fg=1a237e`, {
      headers: { 'if-none-match': etag },
    })
    expect(notModified.status).toBe(304)
    expect(await notModified.text()).toBe('')

    // Its own ETag: never the SVG's for the same options.
    const svg = await call(`/qr/${code.slug}.svg?size=300&fg=1a237e`)
    expect(svg.headers.get('etag')).not.toBe(etag)
  })

  it('offers a download with a .png file name', async () => {
    const { code } = await merchantWithCode({ ...redirect, slug: 'png-board' })
    const response = await call(`/qr/${code.slug}.png?download=1`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="qr-png-board.png"',
    )
  })

  it('draws up to 2,048 px', async () => {
    const { code } = await merchantWithCode(redirect)
    const response = await call(`/qr/${code.slug}.png?size=2048&ecl=H`)
    expect(response.status).toBe(200)
    const png = new Uint8Array(await response.arrayBuffer())
    expect(new DataView(png.buffer, 16, 4).getUint32(0)).toBe(2048)
  })

  it.each([
    ['size=2049', 'query.size'],
    ['size=4096', 'query.size'],
    ['size=10', 'query.size'],
    ['ecl=X', 'query.ecl'],
    ['fg=red', 'query.fg'],
    ['extra=1', 'query'],
  ])('rejects %s with a 400 problem', async (query, path) => {
    const { code } = await merchantWithCode(redirect)
    const response = await call(`/qr/${code.slug}.png?${query}`)
    expect(response.status).toBe(400)
    const problem = await problemOf(response)
    expect(problem.code).toBe('validation_failed')
    expect(problem.errors?.map((e) => e.path).join()).toContain(path)
  })

  it('rejects colours too close to scan, and answers an unknown slug with a 404', async () => {
    const { code } = await merchantWithCode(redirect)
    const low = await call(`/qr/${code.slug}.png?fg=777777&bg=888888`)
    expect(low.status).toBe(400)
    expect((await problemOf(low)).code).toBe('qr_low_contrast')
    const missing = await call('/qr/doesnotexist.png')
    expect(missing.status).toBe(404)
    expect(low.headers.get('content-type')).toContain('application/problem+json')
  })

  it('refuses other extensions', async () => {
    const { code } = await merchantWithCode(redirect)
    expect((await call(`/qr/${code.slug}.gif`)).status).toBe(400)
  })
})
