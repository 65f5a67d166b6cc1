/**
 * `GET /qr/{slug}.svg` and `GET /qr/{slug}.png`: the QR image of a code. For given options the
 * image never changes (a slug and its content are fixed), so it carries a strong ETag, answers 304
 * on a match, is cached for a year, and is encoded at most once per location (Cache API). Both
 * formats take one path: only the drawing differs.
 */
import { z } from '@hono/zod-openapi'
import { getContrast, getLuminance } from 'color2k'
import { apiRoute, createApi, problem, unavailable, unprocessable } from '../api/factory'
import { toHex } from '../auth/keys'
import { resolveCode } from '../codes/cache'
import { ApiError } from '../errors'
import { publicBase, qrContent } from '../lib/urls'
import { MIN_CONTRAST, QrQuery } from './options'
import { PNG_MAX_SIZE, renderQrPng } from './png'
import { QrContentError, type QrRenderOptions, renderQrSvg } from './render'

/** Bump when the SVG output changes for the same input, so old ETags stop matching. */
const RENDERER_VERSION = 1
/** Likewise for the PNG output. */
const PNG_RENDERER_VERSION = 1

const QrFile = z
  .string()
  .regex(/^[A-Za-z0-9_-]{3,64}\.(svg|png)$/, 'expected {slug}.svg or {slug}.png')
  .openapi({ param: { name: 'file', in: 'path' }, example: 'cafe-luna.svg' })

const qrRoute = apiRoute({
  method: 'get',
  path: '/qr/{file}',
  operationId: 'getQr',
  tags: ['QR images'],
  security: [],
  summary: "A code's QR image (SVG or PNG)",
  description:
    'Public, no key needed: the image holds nothing but the short URL (or, for a static redirect code, its destination). ' +
    `\`{slug}.svg\` scales without loss; \`{slug}.png\` is a 1-bit PNG of \`size\` px (at most ${PNG_MAX_SIZE}), with whole-pixel modules centred in a quiet zone of at least \`margin\` modules.`,
  request: { params: z.object({ file: QrFile }), query: QrQuery },
  responses: {
    200: {
      description: 'The image.',
      content: {
        'image/svg+xml': { schema: z.string() },
        'image/png': { schema: z.string().openapi({ format: 'binary' }) },
      },
    },
    304: { description: 'Not modified (If-None-Match matched).' },
    400: problem('Invalid options, or colours too close to scan.'),
    404: problem('No code with this slug.'),
    422: unprocessable,
    503: unavailable,
  },
})

export const qrRoutes = createApi()

qrRoutes.openapi(qrRoute, async (c) => {
  const file = c.req.valid('param').file
  const format = file.endsWith('.png') ? 'png' : 'svg'
  const slug = file.slice(0, -'.svg'.length).toLowerCase()
  const q = c.req.valid('query')
  if (format === 'png' && q.size > PNG_MAX_SIZE) {
    const message = `A PNG is at most ${PNG_MAX_SIZE} px; use the SVG for larger prints.`
    throw new ApiError(400, 'validation_failed', `query.size: ${message}`, [
      { path: 'query.size', message },
    ])
  }
  if (getLuminance(q.fg) >= getLuminance(q.bg) || getContrast(q.fg, q.bg) < MIN_CONTRAST) {
    throw new ApiError(
      400,
      'qr_low_contrast',
      `Use a dark foreground on a light background with a contrast ratio of at least ${MIN_CONTRAST}:1.`,
    )
  }
  const origin = new URL(c.req.url).origin
  const code = await resolveCode(slug, {
    d1: c.env.DB,
    origin,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
  })
  if (!code) throw new ApiError(404, 'not_found', `No code with the slug "${slug}".`)

  const content = qrContent(code, publicBase(c.env, c.req.url))
  const options: QrRenderOptions = {
    ecl: q.ecl,
    margin: q.margin,
    size: q.size,
    fg: q.fg,
    bg: q.bg,
  }
  const drawn = format === 'png' ? [PNG_RENDERER_VERSION, 'png'] : [RENDERER_VERSION]
  const etag = `"${await digest(JSON.stringify([...drawn, content, options]))}"`
  const headers: Record<string, string> = {
    'content-type': format === 'png' ? 'image/png' : 'image/svg+xml; charset=utf-8',
    'cache-control': 'public, max-age=31536000, immutable',
    etag,
    'content-security-policy': "default-src 'none'",
    'x-content-type-options': 'nosniff',
  }
  if (q.download === '1') {
    headers['content-disposition'] = `attachment; filename="qr-${slug}.${format}"`
  }
  if (ifNoneMatch(c.req.header('if-none-match'), etag)) {
    return c.body(null, 304, headers)
  }

  const cacheKey = `${origin}/__cache/qr/${etag.slice(1, -1)}/${q.download}`
  const cached = await caches.default.match(cacheKey).catch(() => undefined)
  if (cached) return c.body(await cached.arrayBuffer(), 200, headers)

  let image: string | Uint8Array<ArrayBuffer>
  try {
    image = format === 'png' ? await renderQrPng(content, options) : renderQrSvg(content, options)
  } catch (err) {
    if (err instanceof QrContentError) throw new ApiError(422, err.code, err.message)
    throw err
  }
  c.executionCtx.waitUntil(
    caches.default.put(cacheKey, new Response(image, { headers })).catch(() => {}),
  )
  return c.body(image, 200, headers)
})

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t === etag || t === `W/${etag}`
  })
}

async function digest(text: string): Promise<string> {
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return toHex(hash, 16)
}
