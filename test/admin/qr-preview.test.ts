import { describe, expect, it } from 'vitest'
import { call, merchantWithCode } from '../helpers'
import { AdminClient } from './client'

/** What the code page's QR customiser shows for a query: the image URL and the form's values. */
function previewOf(page: string) {
  const src = /<img class="qr" src="([^"]+)"/.exec(page)?.[1]?.replaceAll('&amp;', '&') ?? ''
  const field = (name: string) =>
    new RegExp(`<input id="${name}" name="${name}"[^>]* value="([^"]*)"`).exec(page)?.[1]
  return {
    src,
    size: field('size'),
    fg: field('fg'),
    bg: field('bg'),
    ecl: /<option selected="">(\w)</.exec(page)?.[1],
    png: /<a class="button secondary" href="(\/qr\/[^"]+\.png[^"]*)"/
      .exec(page)?.[1]
      ?.replaceAll('&amp;', '&'),
  }
}

describe("the code page's QR customiser", () => {
  it('previews the options asked for, in the form the QR route takes them', async () => {
    const { key, code } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    const page = await admin.get(`/admin/codes/${code.id}?size=300&ecl=H&fg=%231A2B3C&bg=fed`)
    const preview = previewOf(await page.text())
    expect(preview).toEqual({
      src: `/qr/${code.slug}.svg?size=300&ecl=H&fg=1a2b3c&bg=ffeedd`,
      size: '300',
      fg: '1a2b3c',
      bg: 'ffeedd',
      ecl: 'H',
      png: `/qr/${code.slug}.png?size=300&ecl=H&fg=1a2b3c&bg=ffeedd&download=1`,
    })
    expect((await call(preview.src)).status).toBe(200)
    expect((await call(preview.png ?? '')).headers.get('content-type')).toBe('image/png')
  })

  it('leaves each option the QR route would refuse at its default, so the image always loads', async () => {
    const { key, code } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    for (const query of ['size=10&ecl=q', 'size=99999&fg=zzz', 'size=300.5&bg=12', 'size=&ecl=']) {
      const preview = previewOf(await (await admin.get(`/admin/codes/${code.id}?${query}`)).text())
      expect(preview, query).toEqual({
        src: `/qr/${code.slug}.svg?size=512&ecl=M&fg=000000&bg=ffffff`,
        size: '512',
        fg: '000000',
        bg: 'ffffff',
        ecl: 'M',
        png: `/qr/${code.slug}.png?size=512&ecl=M&fg=000000&bg=ffffff&download=1`,
      })
    }
    const kept = previewOf(
      await (await admin.get(`/admin/codes/${code.id}?size=5000&ecl=Q`)).text(),
    )
    expect([kept.size, kept.ecl]).toEqual(['512', 'Q'])
    expect((await call(kept.src)).status).toBe(200)
    // A size the SVG takes but beyond the PNG's limit: the PNG link asks for the largest PNG.
    const large = previewOf(await (await admin.get(`/admin/codes/${code.id}?size=4096`)).text())
    expect(large.src).toContain('size=4096')
    expect(large.png).toContain('.png?size=2048&')
    expect((await call(large.png ?? '')).status).toBe(200)
  })
})
