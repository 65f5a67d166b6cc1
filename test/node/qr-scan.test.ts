/**
 * Proves the QR SVGs scan to exactly their content: rasterise with resvg, decode with the strict
 * @paulmillr/qr decoder (no mirrored-code fallback), compare strings. Runs in Node (native resvg).
 *
 * Caveat when changing the cases: @paulmillr/qr 0.3's image detector cannot locate ~3% of valid
 * codes (e.g. 56 URL characters at ECL L: "RS.decode: invalid errors number" at any scale), even
 * when they are bit-identical to its own encoder's output for the same version and mask. The
 * matrix sweep below decodes the bits directly and passes for every length, so a failure there
 * is a real encoding bug, while a lone image-scan failure may be the detector.
 */
import { gzipSync } from 'node:zlib'
import { Bitmap } from '@paulmillr/qr'
import { _tests, decodeQR } from '@paulmillr/qr/decode.js'
import { Resvg } from '@resvg/resvg-js'
import QRCode from 'qrcode-svg'
import { describe, expect, it } from 'vitest'
import {
  type Ecl,
  encodeQrMatrix,
  QrContentError,
  type QrRenderOptions,
  renderQrSvg,
} from '../../src/qr/render'

const ECLS: Ecl[] = ['L', 'M', 'Q', 'H']
const SHORT_URL = 'https://qr.example.com/abc1234' // 30 characters
const URL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&%+#'
/** Every printable ASCII character, space to tilde. */
const ALL_PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) =>
  String.fromCharCode(0x20 + i),
).join('')
const DEFAULTS: QrRenderOptions = { ecl: 'M', margin: 4, size: 512, fg: '#000000', bg: '#ffffff' }

/** Deterministic URL-ish ASCII of exactly n characters. */
function urlish(n: number): string {
  let s = 'https://qr.example.com/'
  for (let i = 0; s.length < n; i++) s += URL_CHARS[(i * 7 + 3) % URL_CHARS.length]
  return s.slice(0, n)
}

/** Rasterises an SVG at the given pixel width and decodes it strictly. */
function scan(svg: string, width: number): string {
  const image = new Resvg(svg, { fitTo: { mode: 'width', value: width } }).render()
  return decodeQR({ width: image.width, height: image.height, data: image.pixels })
}

/** Whether qrcode-svg itself refuses this content (so our wrapper must say too_long). */
function qrcodeSvgThrows(content: string, ecl: Ecl): boolean {
  try {
    new QRCode({ content, ecl, padding: 0 })
    return false
  } catch {
    return true
  }
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}

function expectQrError(fn: () => unknown, code: string): QrContentError {
  const err = errorOf(fn)
  expect(err).toBeInstanceOf(QrContentError)
  expect((err as QrContentError).code).toBe(code)
  return err as QrContentError
}

/** Reads the run path back into a matrix (margin included), to compare with the encoder's. */
function pathToMatrix(svg: string): boolean[][] {
  const n = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1])
  const d = /<path stroke="[^"]+" d="([^"]+)"\/>/.exec(svg)?.[1] ?? ''
  const grid = Array.from({ length: n }, () => Array<boolean>(n).fill(false))
  let x = 0
  let y = 0
  for (const [, cmd, a, b] of d.matchAll(/([Mmh])(-?[\d.]+)(?: ?(-?[\d.]+))?/g)) {
    if (cmd === 'M') [x, y] = [Number(a), Number(b)]
    else if (cmd === 'm') [x, y] = [x + Number(a), y + Number(b)]
    else {
      const row = grid[y - 0.5]
      if (!row) throw new Error(`run outside the image at y=${y}`)
      for (let i = 0; i < Number(a); i++) row[x + i] = true
      x += Number(a)
    }
  }
  return grid
}

function withMargin(matrix: boolean[][], margin: number): boolean[][] {
  const n = matrix.length + 2 * margin
  return Array.from({ length: n }, (_, y) =>
    Array.from({ length: n }, (_, x) => matrix[y - margin]?.[x - margin] === true),
  )
}

describe('renderQrSvg scans exactly', () => {
  const lengths = [1, 20, 30, 77, 120, 200, 300]
  for (const length of lengths) {
    for (const ecl of ECLS) {
      const content = length === 30 ? SHORT_URL : urlish(length)
      it(`${length} chars at ECL ${ecl}, margins 4 and 2`, () => {
        if (qrcodeSvgThrows(content, ecl)) {
          // Only 192-217 chars at H in this range (qrcode-svg's version table is wrong there).
          expect([ecl, length]).toEqual(['H', 200])
          const err = expectQrError(
            () => renderQrSvg(content, { ...DEFAULTS, ecl }),
            'qr_content_too_long',
          )
          expect(err.message).toContain(`level ${ecl}`)
          return
        }
        for (const margin of [4, 2]) {
          const svg = renderQrSvg(content, { ...DEFAULTS, ecl, margin })
          const modules = encodeQrMatrix(content, ecl).length + 2 * margin
          expect(scan(svg, modules * 4)).toBe(content)
        }
      })
    }
  }

  it('every printable ASCII character round-trips at every ECL', () => {
    for (const ecl of ECLS) {
      const svg = renderQrSvg(ALL_PRINTABLE, { ...DEFAULTS, ecl })
      expect(scan(svg, 600)).toBe(ALL_PRINTABLE)
    }
  })

  it('dark blue on white, at the default 512 px (a non-integer px per module)', () => {
    const svg = renderQrSvg(SHORT_URL, { ...DEFAULTS, fg: '#1a237e', bg: '#ffffff' })
    expect(svg).toContain('stroke="#1a237e"')
    expect(scan(svg, 512)).toBe(SHORT_URL)
  })

  it('draws exactly the encoder matrix (margins 0, 2, 4)', () => {
    for (const margin of [0, 2, 4]) {
      for (const content of [SHORT_URL, urlish(300)]) {
        const svg = renderQrSvg(content, { ...DEFAULTS, ecl: 'Q', margin })
        expect(pathToMatrix(svg)).toEqual(withMargin(encodeQrMatrix(content, 'Q'), margin))
      }
    }
  })

  it('has the expected shape and is deterministic', () => {
    const svg = renderQrSvg(SHORT_URL, DEFAULTS)
    expect(svg).toBe(renderQrSvg(SHORT_URL, DEFAULTS))
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 37 37" width="512" height="512" shape-rendering="crispEdges"><path fill="#ffffff" d="M0 0h37v37H0z"\/><path stroke="#000000" d="M4 4\.5h7m[-\d mh]+"\/><\/svg>$/,
    )
    // With no quiet zone the first run starts at the very corner.
    expect(renderQrSvg(SHORT_URL, { ...DEFAULTS, margin: 0 })).toContain('d="M0 .5h7m')
  })
})

describe('encodeQrMatrix', () => {
  it('the bits decode exactly across lengths up to capacity at every ECL', () => {
    const max: Record<Ecl, number> = { L: 2950, M: 2328, Q: 1660, H: 1270 }
    for (const ecl of ECLS) {
      let checked = 0
      for (let n = 1; n <= max[ecl]; n += n < 400 ? 13 : 173) {
        const content = urlish(n)
        if (ecl === 'H' && n >= 192 && n <= 217) continue // too_long, tested below
        const matrix = encodeQrMatrix(content, ecl)
        expect(_tests.decodeBitmap(new Bitmap(matrix.length, matrix))).toBe(content)
        checked++
      }
      expect(checked).toBeGreaterThan(30)
      // qrcode-svg reserves 3 bytes too many, so its limit is 3 below the standard capacity.
      expect(encodeQrMatrix(urlish(max[ecl]), ecl).length).toBe(177)
      expectQrError(() => encodeQrMatrix(urlish(max[ecl] + 1), ecl), 'qr_content_too_long')
    }
  })
})

describe('the check can fail', () => {
  it("qrcode-svg's own default svg() is transposed and does not decode to the content", () => {
    for (const ecl of ECLS) {
      const svg = new QRCode({ content: SHORT_URL, ecl, padding: 4 }).svg()
      let decoded: string | undefined
      try {
        decoded = scan(svg, 37 * 4)
      } catch {
        decoded = undefined
      }
      expect(decoded).not.toBe(SHORT_URL)
    }
  })

  it('control: the same qrcode-svg output with swap: true does decode', () => {
    const svg = new QRCode({ content: SHORT_URL, padding: 4, swap: true }).svg()
    expect(scan(svg, 37 * 4)).toBe(SHORT_URL)
  })
})

describe('content errors', () => {
  it('rejects non-ASCII and control characters, naming the position', () => {
    const cases: [string, number, string][] = [
      ['café', 4, 'U+00E9'],
      ['pay 😀 now', 5, 'U+1F600'],
      ['x\u0800', 2, 'U+0800'],
      ['\u0080', 1, 'U+0080'],
      ['line\nbreak', 5, 'U+000A'],
      ['del\u007f', 4, 'U+007F'],
      ['tab\there', 4, 'U+0009'],
    ]
    for (const [content, position, codePoint] of cases) {
      const err = expectQrError(() => renderQrSvg(content, DEFAULTS), 'qr_content_not_ascii')
      expect(err.message).toContain(`character ${position} is ${codePoint}`)
      expectQrError(() => encodeQrMatrix(content, 'L'), 'qr_content_not_ascii')
    }
  })

  it('too long at ECL H for 200 chars (a qrcode-svg "code length overflow")', () => {
    const content = urlish(200)
    const raw = errorOf(() => new QRCode({ content, ecl: 'H', padding: 0 }))
    expect((raw as Error).message).toMatch(/code length overflow/)
    const err = expectQrError(() => encodeQrMatrix(content, 'H'), 'qr_content_too_long')
    expect(err.message).toContain('200 characters')
    expect(err.message).toContain('level H')
    // The same content fits at lower levels, and at H again once long enough for the next version.
    expect(encodeQrMatrix(content, 'Q').length).toBeGreaterThan(0)
    expect(encodeQrMatrix(urlish(218), 'H').length).toBeGreaterThan(0)
  })

  it('too long for 5000 chars at every ECL', () => {
    for (const ecl of ECLS) {
      const err = expectQrError(
        () => renderQrSvg(urlish(5000), { ...DEFAULTS, ecl }),
        'qr_content_too_long',
      )
      expect(err.message).toContain('5000 characters')
    }
  })

  it('rejects empty content', () => {
    expectQrError(() => renderQrSvg('', DEFAULTS), 'qr_content_empty')
    expectQrError(() => encodeQrMatrix('', 'M'), 'qr_content_empty')
  })

  it('rejects colours and options that could break the markup', () => {
    expect(() => renderQrSvg(SHORT_URL, { ...DEFAULTS, fg: '"/><script>' })).toThrow(TypeError)
    expect(() => renderQrSvg(SHORT_URL, { ...DEFAULTS, bg: 'red' })).toThrow(TypeError)
    expect(() => renderQrSvg(SHORT_URL, { ...DEFAULTS, fg: '#fff' })).toThrow(TypeError)
    expect(() => renderQrSvg(SHORT_URL, { ...DEFAULTS, margin: -1 })).toThrow(TypeError)
    expect(() => renderQrSvg(SHORT_URL, { ...DEFAULTS, size: Number.NaN })).toThrow(TypeError)
    expect(() => renderQrSvg(SHORT_URL, { ...DEFAULTS, ecl: 'X' as Ecl })).toThrow(TypeError)
  })
})

describe('size', () => {
  it('a short URL at ECL M is under 2,000 bytes and far smaller gzipped than qrcode-svg', () => {
    const ours = renderQrSvg(SHORT_URL, DEFAULTS)
    const theirs = new QRCode({
      content: SHORT_URL,
      ecl: 'M',
      padding: 4,
      width: 512,
      height: 512,
    }).svg()
    const oursGzip = gzipSync(ours).length
    const theirsGzip = gzipSync(theirs).length
    console.log(
      `${SHORT_URL.length}-char URL at M: ours ${ours.length} B raw / ${oursGzip} B gzip; ` +
        `qrcode-svg default ${theirs.length} B raw / ${theirsGzip} B gzip`,
    )
    expect(ours.length).toBeLessThan(2000)
    expect(oursGzip).toBeLessThan(theirsGzip / 3)
  })
})
