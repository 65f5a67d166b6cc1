/**
 * QR encoding and SVG rendering. Pure: runs in Workers and in Node (no Node imports, no Buffer).
 *
 * qrcode-svg only builds the module matrix here; we never call its `svg()`:
 * - it reads `modules[x][y]`, i.e. it draws the matrix transposed (a mirrored QR code that strict
 *   decoders reject) unless `swap: true` is passed;
 * - its output is huge (one rect or closed subpath per dark module: ~69 kB for a short URL).
 * We draw each horizontal run of dark modules as one 1-unit-wide stroke in a single <path>, with
 * relative moves, which is the smallest form we measured both raw and gzipped (~1.5 kB raw and
 * ~0.5 kB gzip for a 30-character URL at ECL M).
 *
 * qrcode-svg's UTF-8 handling is broken above U+007F (wrong bytes for U+0080 and U+0800, each
 * surrogate encoded separately for astral characters), so only printable ASCII is accepted.
 */
import QRCode from 'qrcode-svg'

export type Ecl = 'L' | 'M' | 'Q' | 'H'

export interface QrRenderOptions {
  ecl: Ecl
  /** Quiet zone around the code, in modules (the standard asks for 4). */
  margin: number
  /** Value of the width and height attributes, in px. */
  size: number
  /** Dark colour, '#rrggbb'. */
  fg: string
  /** Light colour, '#rrggbb'. */
  bg: string
}

export type QrErrorCode = 'qr_content_not_ascii' | 'qr_content_too_long' | 'qr_content_empty'

export class QrContentError extends Error {
  override name = 'QrContentError'

  constructor(
    readonly code: QrErrorCode,
    message: string,
  ) {
    super(message)
  }
}

const ECLS: readonly string[] = ['L', 'M', 'Q', 'H']
export const HEX_COLOUR = /^#[0-9a-f]{6}$/i

/** Encodes content with qrcode-svg and returns the module matrix, matrix[row][col] = dark. */
export function encodeQrMatrix(content: string, ecl: Ecl): boolean[][] {
  if (!ECLS.includes(ecl)) throw new TypeError(`Unknown error correction level: ${String(ecl)}`)
  if (typeof content !== 'string') throw new TypeError('QR content must be a string')
  if (content.length === 0) throw new QrContentError('qr_content_empty', 'QR content is empty.')
  for (let i = 0; i < content.length; i++) {
    const unit = content.charCodeAt(i)
    if (unit < 0x20 || unit > 0x7e) {
      const cp = content.codePointAt(i) ?? unit
      const hex = cp.toString(16).toUpperCase().padStart(4, '0')
      throw new QrContentError(
        'qr_content_not_ascii',
        `QR content must be printable ASCII (0x20-0x7E); character ${i + 1} is U+${hex}.`,
      )
    }
  }

  let modules: boolean[][]
  try {
    modules = new QRCode({ content, ecl, padding: 0, join: true, swap: true }).qrcode.modules
  } catch {
    // "Content too long", or "code length overflow" for some lengths the library's own version
    // table gets wrong (192-217 ASCII characters at ECL H).
    throw new QrContentError(
      'qr_content_too_long',
      `QR content of ${content.length} characters does not fit in a QR code at error correction level ${ecl}; use a shorter text or a lower level.`,
    )
  }
  return modules.map((row) => row.map((dark) => dark === true))
}

/** Renders the smallest SVG: one <path> of 1-unit stroked horizontal runs. */
export function renderQrSvg(content: string, options: QrRenderOptions): string {
  const { ecl, margin, size, fg, bg } = options
  if (!HEX_COLOUR.test(fg)) throw new TypeError('fg must be a colour like #1a2b3c')
  if (!HEX_COLOUR.test(bg)) throw new TypeError('bg must be a colour like #1a2b3c')
  if (!Number.isSafeInteger(margin) || margin < 0) {
    throw new TypeError('margin must be a non-negative integer')
  }
  if (!Number.isFinite(size) || size <= 0) throw new TypeError('size must be a positive number')

  const { n, d } = drawing(content, ecl, margin)
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" width="${size}" height="${size}" shape-rendering="crispEdges">` +
    `<path fill="${bg}" d="M0 0h${n}v${n}H0z"/>` +
    `<path stroke="${fg}" d="${d}"/></svg>`
  )
}

/**
 * The costly part of an image (encoding: up to ~17 ms for 2,000 characters; the path) depends on
 * the content, level and margin only, so it is kept per isolate and colours and size cost a string.
 * Content that cannot be encoded is not kept (it throws each time).
 */
const drawings = new Map<string, { n: number; d: string }>()
const DRAWINGS_MAX = 64

function drawing(content: string, ecl: Ecl, margin: number) {
  const key = `${ecl}|${margin}|${content}`
  let found = drawings.get(key)
  if (!found) {
    const matrix = encodeQrMatrix(content, ecl)
    found = { n: matrix.length + 2 * margin, d: runsPath(matrix, margin) }
    if (drawings.size >= DRAWINGS_MAX) drawings.delete(drawings.keys().next().value as string)
  }
  drawings.delete(key)
  drawings.set(key, found)
  return found
}

/** Test hook: how many drawings this isolate keeps. */
export const drawingsKept = () => drawings.size

/**
 * Path data for the dark runs: each run is a horizontal line through the middle of its row
 * (y + .5), which a stroke of the default width 1 turns into exactly the run's modules. Only the
 * first move is absolute; every later one is relative to the end of the previous run, which is
 * shorter raw and gzips better than absolute moves.
 */
function runsPath(matrix: boolean[][], margin: number): string {
  let d = ''
  let penX = -1
  let penY = -1
  for (let row = 0; row < matrix.length; row++) {
    const cells = matrix[row] ?? []
    let col = 0
    while (col < cells.length) {
      if (!cells[col]) {
        col++
        continue
      }
      const start = col
      while (col < cells.length && cells[col]) col++
      const x = start + margin
      const y = row + margin
      if (penX < 0) {
        d += `M${x} ${y === 0 ? '' : y}.5`
      } else {
        // Rows only go down, so dy >= 0 and needs the separator; dx may be negative.
        d += `m${x - penX} ${y - penY}`
      }
      d += `h${col - start}`
      penX = col + margin
      penY = y
    }
  }
  return d
}
