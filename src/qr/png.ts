/**
 * PNG rendering of a QR symbol, encoded by hand so it needs no native or WASM dependency: a
 * 1-bit indexed image (palette: background, foreground) whose pixel rows are compressed with the
 * platform's `CompressionStream('deflate')`, which writes the zlib format an IDAT chunk holds.
 * Runs in Workers and in Node 22 alike.
 *
 * Modules are whole pixels (a print shop's RIP and a phone camera both like crisp, equal modules):
 * each module is `floor(size / n)` px and the pixels left over widen the quiet zone, so the image
 * is exactly `size` px and the symbol sits in its centre. A `size` below the symbol's module count
 * gives one pixel per module (the image is then that many pixels wide).
 */
import { encodeQrMatrix, HEX_COLOUR, type QrRenderOptions } from './render'

/** The largest PNG the route draws: ~0.5 MB of rows to compress at 1 bit per pixel. */
export const PNG_MAX_SIZE = 2048

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

export async function renderQrPng(
  content: string,
  options: QrRenderOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const { ecl, margin, size, fg, bg } = options
  if (!HEX_COLOUR.test(fg)) throw new TypeError('fg must be a colour like #1a2b3c')
  if (!HEX_COLOUR.test(bg)) throw new TypeError('bg must be a colour like #1a2b3c')
  if (!Number.isSafeInteger(margin) || margin < 0) {
    throw new TypeError('margin must be a non-negative integer')
  }
  if (!Number.isSafeInteger(size) || size <= 0)
    throw new TypeError('size must be a positive integer')

  const matrix = encodeQrMatrix(content, ecl)
  const n = matrix.length + 2 * margin
  const scale = Math.max(1, Math.floor(size / n))
  const width = Math.max(size, n * scale)
  // Left/top offset of the first module in px: the margin plus half the pixels left over.
  const offset = margin * scale + Math.floor((width - n * scale) / 2)

  const stride = 1 + Math.ceil(width / 8) // filter byte (0, none) + 1 bit per pixel
  const rows = new Uint8Array(stride * width) // all background (palette index 0)
  for (let r = 0; r < matrix.length; r++) {
    const line = new Uint8Array(stride)
    const cells = matrix[r] ?? []
    for (let c = 0; c < cells.length; c++) {
      if (!cells[c]) continue
      const from = offset + c * scale
      for (let x = from; x < from + scale; x++) {
        const at = 1 + (x >> 3)
        line[at] = (line[at] ?? 0) | (0x80 >> (x & 7))
      }
    }
    const top = offset + r * scale
    for (let y = top; y < top + scale; y++) rows.set(line, y * stride)
  }

  const header = new Uint8Array(13)
  const view = new DataView(header.buffer)
  view.setUint32(0, width)
  view.setUint32(4, width)
  header.set([1, 3, 0, 0, 0], 8) // bit depth 1, indexed colour, deflate, adaptive filters, no interlace

  return concat([
    new Uint8Array(SIGNATURE),
    chunk('IHDR', header),
    chunk('PLTE', new Uint8Array([...rgb(bg), ...rgb(fg)])),
    chunk('IDAT', await deflate(rows)),
    chunk('IEND', new Uint8Array(0)),
  ])
}

function rgb(hex: string): number[] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16))
}

/** zlib-wrapped deflate, as IDAT requires (`deflate-raw` would lack the header and Adler-32). */
async function deflate(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** One chunk: length, type, data, CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

let crcTable: Uint32Array | undefined

/** CRC-32 (ISO 3309, polynomial 0xEDB88320), as PNG chunks carry it. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256)
    for (let i = 0; i < 256; i++) {
      let c = i
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      crcTable[i] = c >>> 0
    }
  }
  let crc = 0xffffffff
  for (const byte of bytes) crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
