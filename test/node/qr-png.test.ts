/**
 * Proves the Worker's hand-encoded PNGs are valid and scan to exactly their content: a strict
 * reader for the format we write (signature, chunk CRCs, IHDR, one PLTE, zlib IDAT, IEND) turns
 * the bytes into RGBA pixels, which the strict @paulmillr/qr decoder reads.
 */
import { inflateSync, crc32 as nodeCrc32 } from 'node:zlib'
import { decodeQR } from '@paulmillr/qr/decode.js'
import { describe, expect, it } from 'vitest'
import { crc32, renderQrPng } from '../../src/qr/png'
import { encodeQrMatrix, type QrRenderOptions } from '../../src/qr/render'

const SHORT_URL = 'https://qr.example.com/abc1234'
const DEFAULTS: QrRenderOptions = { ecl: 'M', margin: 4, size: 512, fg: '#000000', bg: '#ffffff' }

interface Pixels {
  width: number
  height: number
  data: Uint8Array
}

/** Reads a 1-bit indexed PNG, refusing anything else or any damaged chunk. */
function readPng(png: Uint8Array): Pixels {
  const bytes = Buffer.from(png)
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const chunks: { type: string; data: Buffer }[] = []
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at)
    const type = bytes.toString('latin1', at + 4, at + 8)
    const data = bytes.subarray(at + 8, at + 8 + length)
    expect(bytes.readUInt32BE(at + 8 + length), `${type} CRC`).toBe(
      nodeCrc32(bytes.subarray(at + 4, at + 8 + length)),
    )
    chunks.push({ type, data })
    at += 12 + length
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'PLTE', 'IDAT', 'IEND'])
  const [ihdr, plte, idat] = chunks.map((c) => c.data) as [Buffer, Buffer, Buffer]
  const width = ihdr.readUInt32BE(0)
  const height = ihdr.readUInt32BE(4)
  expect([...ihdr.subarray(8)]).toEqual([1, 3, 0, 0, 0])
  expect(plte.length).toBe(6)
  const raw = inflateSync(idat) // zlib format: throws on a raw deflate stream or a bad Adler-32
  const stride = 1 + Math.ceil(width / 8)
  expect(raw.length).toBe(stride * height)
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    expect(raw[y * stride], 'filter type').toBe(0)
    for (let x = 0; x < width; x++) {
      const index = ((raw[y * stride + 1 + (x >> 3)] ?? 0) >> (7 - (x & 7))) & 1
      data.set([...plte.subarray(index * 3, index * 3 + 3), 255], (y * width + x) * 4)
    }
  }
  return { width, height, data }
}

describe('renderQrPng', () => {
  it.each([
    ['defaults', DEFAULTS],
    ['a small 200 px at ECL L', { ...DEFAULTS, size: 200, ecl: 'L' }],
    ['2,048 px at ECL H, margin 2', { ...DEFAULTS, size: 2048, ecl: 'H', margin: 2 }],
    [
      'dark blue on cream at ECL Q',
      { ...DEFAULTS, size: 333, ecl: 'Q', fg: '#1a237e', bg: '#fff8e1' },
    ],
  ] as const)('scans exactly: %s', async (_name, options: QrRenderOptions) => {
    const pixels = readPng(await renderQrPng(SHORT_URL, options))
    expect(pixels.width).toBe(options.size)
    expect(pixels.height).toBe(options.size)
    expect(decodeQR(pixels)).toBe(SHORT_URL)
  })

  it('scans a long URL exactly', async () => {
    const long = `https://qr.example.com/${'abc123-'.repeat(30)}`
    const pixels = readPng(await renderQrPng(long, { ...DEFAULTS, size: 1024, ecl: 'Q' }))
    expect(decodeQR(pixels)).toBe(long)
  })

  it('draws the matrix with whole, equal modules centred in the quiet zone', async () => {
    const matrix = encodeQrMatrix(SHORT_URL, 'M')
    const n = matrix.length + 8
    const size = 300
    const scale = Math.floor(size / n)
    const offset = 4 * scale + Math.floor((size - n * scale) / 2)
    const { data, width } = readPng(await renderQrPng(SHORT_URL, { ...DEFAULTS, size }))
    const dark = (x: number, y: number) => data[(y * width + x) * 4] === 0
    for (let r = 0; r < matrix.length; r++) {
      for (let c = 0; c < matrix.length; c++) {
        const want = matrix[r]?.[c] === true
        expect(dark(offset + c * scale, offset + r * scale)).toBe(want)
        expect(dark(offset + c * scale + scale - 1, offset + r * scale + scale - 1)).toBe(want)
      }
    }
    expect(dark(offset - 1, offset)).toBe(false)
  })

  it('gives one pixel per module when asked for fewer pixels than modules', async () => {
    const content = `https://qr.example.com/${'x'.repeat(200)}`
    const n = encodeQrMatrix(content, 'H').length + 8
    const { width } = readPng(await renderQrPng(content, { ...DEFAULTS, size: 64, ecl: 'H' }))
    expect(width).toBe(n)
  })

  it('computes the CRC-32 PNG needs', () => {
    const bytes = new TextEncoder().encode('IEND')
    expect(crc32(bytes)).toBe(0xae426082)
    expect(crc32(bytes)).toBe(nodeCrc32(Buffer.from(bytes)))
  })

  it('rejects options that could not be drawn', async () => {
    await expect(renderQrPng(SHORT_URL, { ...DEFAULTS, fg: 'red' })).rejects.toThrow(TypeError)
    await expect(renderQrPng(SHORT_URL, { ...DEFAULTS, size: 1.5 })).rejects.toThrow(TypeError)
    await expect(renderQrPng('', DEFAULTS)).rejects.toThrow('empty')
  })
})
