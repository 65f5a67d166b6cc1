/**
 * Static measurements: what a customer downloads for the checkout page, and how close the QR SVG
 * is to the smallest single-path rendering of the same module matrix.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { encodeQrMatrix } from '../src/qr/render'

const gzipLen = (s: string | Uint8Array) => gzipSync(s, { level: 9 }).length
const brotliLen = (s: string | Uint8Array) => brotliCompressSync(s).length

export interface Fetched {
  url: string
  kind: string
  status: number
  bytes: number
  gzip: number
  brotli: number
}

export interface PageWeight {
  resources: Fetched[]
  /** Requests a browser makes for the page: the document and its same-origin subresources. */
  requests: number
  gzipTotal: number
  brotliTotal: number
  thirdParty: string[]
  /** No <link rel=icon>: browsers then ask for /favicon.ico on their own. */
  implicitFavicon: Fetched | null
}

const ATTR = /([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g
const TAG = /<(link|script|img|source|iframe|video|audio|embed|object|input|track)\b([^>]*)>/gi
const CSS_URL = /url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3/gi

function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(ATTR)) {
    out[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? m[4] ?? ''
  }
  return out
}

/** Every URL the HTML makes a browser fetch before any interaction. */
export function htmlSubresources(html: string): { url: string; kind: string }[] {
  const found: { url: string; kind: string }[] = []
  for (const m of html.matchAll(TAG)) {
    const tag = (m[1] ?? '').toLowerCase()
    const a = attributes(m[2] ?? '')
    if (tag === 'link') {
      const rel = (a.rel ?? '').toLowerCase()
      if (
        /\b(stylesheet|icon|preload|modulepreload|manifest|apple-touch-icon|prefetch)\b/.test(rel)
      ) {
        if (a.href) found.push({ url: a.href, kind: rel })
      } else if (/\b(preconnect|dns-prefetch)\b/.test(rel) && a.href) {
        found.push({ url: a.href, kind: rel })
      }
    } else if (tag === 'object') {
      if (a.data) found.push({ url: a.data, kind: tag })
    } else {
      if (a.src) found.push({ url: a.src, kind: tag })
      if (a.srcset) {
        for (const candidate of a.srcset.split(',')) {
          const u = candidate.trim().split(/\s+/)[0]
          if (u) found.push({ url: u, kind: `${tag} srcset` })
        }
      }
      if (a.poster) found.push({ url: a.poster, kind: `${tag} poster` })
    }
  }
  // Inline styles and <style> blocks.
  for (const m of html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>|style\s*=\s*"([^"]*)"/gi)) {
    found.push(...cssSubresources(m[1] ?? m[2] ?? ''))
  }
  return found.filter((r) => !r.url.startsWith('data:') && !r.url.startsWith('#'))
}

export function cssSubresources(css: string): { url: string; kind: string }[] {
  const out: { url: string; kind: string }[] = []
  for (const m of css.matchAll(CSS_URL)) {
    const url = m[2] ?? m[4]
    if (url && !url.startsWith('data:')) out.push({ url, kind: 'css url()' })
  }
  return out
}

async function get(url: URL, kind: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    headers: { 'accept-encoding': 'identity', ...headers },
    redirect: 'manual',
  })
  const body = new Uint8Array(await response.arrayBuffer())
  const fetched: Fetched = {
    url: url.pathname + url.search,
    kind,
    status: response.status,
    bytes: body.length,
    gzip: gzipLen(body),
    brotli: brotliLen(body),
  }
  return {
    fetched,
    text: new TextDecoder().decode(body),
    type: response.headers.get('content-type'),
  }
}

/** Loads a page like a first-time visitor: the document, then each subresource it names. */
export async function pageWeight(origin: URL, path: string): Promise<PageWeight> {
  const headers = { 'accept-language': 'en-US,en;q=0.9', 'user-agent': MOBILE_UA }
  const pageUrl = new URL(path, origin)
  const page = await get(pageUrl, 'document', headers)
  const resources: Fetched[] = [page.fetched]
  const thirdParty: string[] = []
  const queue = htmlSubresources(page.text).map((r) => ({ ...r, base: pageUrl }))
  const seen = new Set<string>()
  while (queue.length) {
    const next = queue.shift()
    if (!next) break
    const url = new URL(next.url, next.base)
    if (seen.has(url.href)) continue
    seen.add(url.href)
    if (url.origin !== origin.origin) {
      thirdParty.push(url.href)
      continue
    }
    if (next.kind === 'preconnect' || next.kind === 'dns-prefetch') continue
    const r = await get(url, next.kind, headers)
    resources.push(r.fetched)
    if (r.type?.includes('css')) {
      for (const sub of cssSubresources(r.text)) queue.push({ ...sub, base: url })
    }
  }
  const declaresIcon = /<link\b[^>]*rel\s*=\s*["']?[^"'>]*\bicon\b/i.test(page.text)
  const implicitFavicon = declaresIcon
    ? null
    : (await get(new URL('/favicon.ico', origin), 'implicit /favicon.ico', headers)).fetched
  return {
    resources,
    requests: resources.length,
    gzipTotal: resources.reduce((s, r) => s + r.gzip, 0),
    brotliTotal: resources.reduce((s, r) => s + r.brotli, 0),
    thirdParty,
    implicitFavicon,
  }
}

export const MOBILE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1'

// ---- QR SVG --------------------------------------------------------------------------------------

export interface Rendering {
  name: string
  bytes: number
  gzip: number
  /** The modules the path paints equal the matrix (decoded back from the SVG text). */
  exact: boolean
}

export interface QrWeight {
  content: string
  modules: number
  app: Rendering
  candidates: Rendering[]
  smallest: Rendering
  /** app gzip / smallest candidate gzip */
  ratio: number
}

interface Envelope {
  n: number
  size: number
  fg: string
  bg: string
}

function envelope(e: Envelope, paint: 'stroke' | 'fill', d: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${e.n} ${e.n}" width="${e.size}" height="${e.size}" shape-rendering="crispEdges">` +
    `<path fill="${e.bg}" d="M0 0h${e.n}v${e.n}H0z"/>` +
    `<path ${paint}="${e.fg}" d="${d}"/></svg>`
  )
}

type Run = { x: number; y: number; len: number }

function runs(dark: (x: number, y: number) => boolean, n: number, vertical: boolean): Run[] {
  const out: Run[] = []
  for (let a = 0; a < n; a++) {
    let b = 0
    while (b < n) {
      const on = vertical ? dark(a, b) : dark(b, a)
      if (!on) {
        b++
        continue
      }
      const start = b
      while (b < n && (vertical ? dark(a, b) : dark(b, a))) b++
      out.push(vertical ? { x: a, y: start, len: b - start } : { x: start, y: a, len: b - start })
    }
  }
  return out
}

const num = (v: number) => {
  const s = String(v)
  return s.startsWith('0.') ? s.slice(1) : s.startsWith('-0.') ? `-${s.slice(2)}` : s
}
/** Joins path numbers with the fewest separators (a '-' or a leading '.' needs none). */
function pair(a: number, b: number) {
  const sb = num(b)
  return `${num(a)}${sb.startsWith('-') ? '' : ' '}${sb}`
}

/** Independent minimal renderers of the same matrix, each a single <path> for the dark modules. */
function candidates(matrix: boolean[][], e: Envelope, margin: number) {
  const size = matrix.length
  const dark = (x: number, y: number) => matrix[y]?.[x] === true
  const h = runs(dark, size, false)
  const v = runs(dark, size, true)
  const out: { name: string; paint: 'stroke' | 'fill'; d: string }[] = []

  // Stroked runs: a 1-unit stroke through the middle of each run.
  const strokedRel = (rs: Run[], vertical: boolean) => {
    let d = ''
    let px = 0
    let py = 0
    rs.forEach((r, i) => {
      const x = r.x + margin + (vertical ? 0.5 : 0)
      const y = r.y + margin + (vertical ? 0 : 0.5)
      d += i === 0 ? `M${pair(x, y)}` : `m${pair(x - px, y - py)}`
      d += vertical ? `v${r.len}` : `h${r.len}`
      px = vertical ? x : x + r.len
      py = vertical ? y + r.len : y
    })
    return d
  }
  out.push({ name: 'stroked rows, relative moves', paint: 'stroke', d: strokedRel(h, false) })
  out.push({ name: 'stroked columns, relative moves', paint: 'stroke', d: strokedRel(v, true) })
  out.push({
    name: 'stroked rows, absolute moves',
    paint: 'stroke',
    d: h.map((r) => `M${pair(r.x + margin, r.y + margin + 0.5)}h${r.len}`).join(''),
  })
  // Filled rectangles per run; after z the pen is back at the subpath start.
  let d = ''
  let px = 0
  let py = 0
  h.forEach((r, i) => {
    const x = r.x + margin
    const y = r.y + margin
    d += i === 0 ? `M${pair(x, y)}` : `m${pair(x - px, y - py)}`
    d += `h${r.len}v1h-${r.len}z`
    px = x
    py = y
  })
  out.push({ name: 'filled row rectangles, relative moves', paint: 'fill', d })
  return out.map((c) => ({ name: c.name, svg: envelope(e, c.paint, c.d) }))
}

/**
 * Decodes the dark modules a single-path SVG paints: stroked h/v segments (1-unit stroke through
 * the middle of a row or column) or filled rectangular subpaths. Enough for the renderers above
 * and for the app's own output.
 */
export function paintedModules(svg: string): { n: number; dark: Set<string> } | null {
  const n = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1])
  const paths = [...svg.matchAll(/<path ([a-z-]+)="[^"]*" d="([^"]*)"\/>/g)]
  const main = paths.find((p) => p[1] === 'stroke') ?? paths[1]
  if (!n || !main) return null
  const stroked = main[1] === 'stroke'
  const tokens = (main[2] ?? '').match(/[MmHhVvZz]|-?(?:\d+\.?\d*|\.\d+)/g) ?? []
  const dark = new Set<string>()
  let x = 0
  let y = 0
  let sx = 0
  let sy = 0
  let box = { x0: 0, y0: 0, x1: 0, y1: 0 }
  const grow = () => {
    box = {
      x0: Math.min(box.x0, x),
      y0: Math.min(box.y0, y),
      x1: Math.max(box.x1, x),
      y1: Math.max(box.y1, y),
    }
  }
  let i = 0
  const next = () => Number(tokens[i++])
  while (i < tokens.length) {
    const cmd = tokens[i++]
    if (cmd === 'M' || cmd === 'm') {
      const dx = next()
      const dy = next()
      x = cmd === 'M' ? dx : x + dx
      y = cmd === 'M' ? dy : y + dy
      sx = x
      sy = y
      box = { x0: x, y0: y, x1: x, y1: y }
    } else if (cmd === 'h' || cmd === 'H' || cmd === 'v' || cmd === 'V') {
      const value = next()
      const x0 = x
      const y0 = y
      if (cmd === 'h') x += value
      else if (cmd === 'H') x = value
      else if (cmd === 'v') y += value
      else y = value
      if (stroked && (cmd === 'h' || cmd === 'H')) {
        for (let c = Math.min(x0, x); c < Math.max(x0, x); c++) dark.add(`${c},${Math.floor(y)}`)
      } else if (stroked) {
        for (let r = Math.min(y0, y); r < Math.max(y0, y); r++) dark.add(`${Math.floor(x)},${r}`)
      }
      grow()
    } else if (cmd === 'z' || cmd === 'Z') {
      if (!stroked) {
        for (let r = box.y0; r < box.y1; r++) {
          for (let c = box.x0; c < box.x1; c++) dark.add(`${c},${r}`)
        }
      }
      x = sx
      y = sy
    } else {
      return null
    }
  }
  return { n, dark }
}

function exactly(svg: string, matrix: boolean[][], margin: number): boolean {
  const painted = paintedModules(svg)
  if (!painted || painted.n !== matrix.length + 2 * margin) return false
  let count = 0
  for (let r = 0; r < matrix.length; r++) {
    for (let c = 0; c < matrix.length; c++) {
      if (matrix[r]?.[c]) {
        count++
        if (!painted.dark.has(`${c + margin},${r + margin}`)) return false
      }
    }
  }
  return count === painted.dark.size
}

/** The app's default QR SVG for a code vs the smallest of the renderers above. */
export async function qrWeight(origin: URL, slug: string, content: string): Promise<QrWeight> {
  const margin = 4
  const response = await fetch(new URL(`/qr/${slug}.svg`, origin))
  const svg = await response.text()
  if (response.status !== 200) throw new Error(`GET /qr/${slug}.svg answered ${response.status}`)
  const matrix = encodeQrMatrix(content, 'M')
  const e: Envelope = { n: matrix.length + 2 * margin, size: 512, fg: '#000000', bg: '#ffffff' }
  const rendered = candidates(matrix, e, margin).map((c) => ({
    name: c.name,
    bytes: Buffer.byteLength(c.svg),
    gzip: gzipLen(c.svg),
    exact: exactly(c.svg, matrix, margin),
  }))
  const valid = rendered.filter((r) => r.exact)
  const smallest = valid.reduce(
    (a, b) => (b.gzip < a.gzip ? b : a),
    valid[0] ?? (rendered[0] as Rendering),
  )
  const app: Rendering = {
    name: 'app',
    bytes: Buffer.byteLength(svg),
    gzip: gzipLen(svg),
    exact: exactly(svg, matrix, margin),
  }
  return {
    content,
    modules: matrix.length,
    app,
    candidates: rendered,
    smallest,
    ratio: app.gzip / smallest.gzip,
  }
}
