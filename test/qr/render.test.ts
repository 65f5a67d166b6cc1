import { describe, expect, it } from 'vitest'
import { drawingsKept, renderQrSvg } from '../../src/qr/render'

const options = { ecl: 'M', margin: 4, size: 512, fg: '#000000', bg: '#ffffff' } as const

describe('renderQrSvg', () => {
  it('encodes a content once per level and margin: other colours and sizes reuse the drawing', () => {
    const content = `https://example.com/${'a'.repeat(900)}`
    const before = drawingsKept()
    const first = renderQrSvg(content, options)
    const kept = drawingsKept()
    expect(kept).toBe(Math.min(before + 1, 64))
    for (let i = 0; i < 20; i++) {
      const fg = `#${i.toString(16).padStart(2, '0')}2030`
      const other = renderQrSvg(content, { ...options, fg, size: 100 + i })
      // The same symbol: only the colour and the size attributes differ.
      expect(other.replace(/stroke="#[0-9a-f]{6}"/, '').replace(/ (width|height)="\d+"/g, '')).toBe(
        first.replace(/stroke="#[0-9a-f]{6}"/, '').replace(/ (width|height)="\d+"/g, ''),
      )
    }
    expect(drawingsKept()).toBe(kept)
    // Another level is another symbol.
    expect(renderQrSvg(content, { ...options, ecl: 'L' })).not.toBe(first)
  })

  it('keeps a bounded number of drawings', () => {
    for (let i = 0; i < 100; i++) renderQrSvg(`https://example.com/${i}`, options)
    expect(drawingsKept()).toBe(64)
  })
})
