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
