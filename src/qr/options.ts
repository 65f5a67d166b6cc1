/**
 * The options of a QR image (size, quiet zone, error correction, colours), as `GET /qr/{slug}.svg`
 * takes them in its query. The admin's QR preview reads its form with the same rules, so every
 * preview it links to is an image the route serves.
 */
import { z } from '@hono/zod-openapi'

/** The least contrast ratio (WCAG) between a QR's colours that scanners read reliably. */
export const MIN_CONTRAST = 3

const Colour = z
  .string()
  .regex(/^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'a hex colour such as 000000 or #1a2b3c')
  .transform((s) => {
    const hex = s.replace('#', '').toLowerCase()
    return `#${hex.length === 3 ? [...hex].map((ch) => ch + ch).join('') : hex}`
  })

export const QrQuery = z.strictObject({
  size: z.coerce.number().int().min(64).max(4096).default(512).openapi({
    description: 'Width and height in px of the SVG (it scales without loss).',
  }),
  margin: z
    // An empty value is an error, not 0 (which Number('') would make it): a QR without its quiet
    // zone may not scan.
    .preprocess(
      (value) => (typeof value === 'string' && !value.trim() ? Number.NaN : value),
      z.coerce.number().int().min(0).max(16).default(4),
    )
    .openapi({
      type: 'integer',
      minimum: 0,
      maximum: 16,
      default: 4,
      description: 'Quiet zone in modules. The QR standard asks for 4.',
    }),
  ecl: z
    .enum(['L', 'M', 'Q', 'H'])
    .default('M')
    .openapi({ description: 'Error correction level.' }),
  fg: Colour.default('#000000').openapi({
    description: `Foreground colour: hex \`rrggbb\` or \`rgb\`, with or without \`#\`. It must be darker than \`bg\` with a contrast ratio of at least ${MIN_CONTRAST}:1 (else 400 \`qr_low_contrast\`).`,
  }),
  bg: Colour.default('#ffffff').openapi({
    description: 'Background colour, in the same form; lighter than `fg` (see there).',
  }),
  download: z.enum(['0', '1']).default('0').openapi({ description: '1 = download as a file.' }),
})

/** Options with colours as `#rrggbb` (lower case). */
export type QrOptions = z.infer<typeof QrQuery>

/**
 * The options a query asks for, where each one the route would refuse is left at its default
 * instead: a preview form shows what it can rather than an error for one mistyped field.
 */
export function qrOptionsOrDefaults(query: (name: string) => string | undefined): QrOptions {
  const field = <T>(name: string, schema: z.ZodType<T>): T => {
    const asked = schema.safeParse(query(name))
    return asked.success ? asked.data : schema.parse(undefined)
  }
  const { shape } = QrQuery
  return {
    size: field('size', shape.size),
    margin: field('margin', shape.margin),
    ecl: field('ecl', shape.ecl),
    fg: field('fg', shape.fg),
    bg: field('bg', shape.bg),
    download: field('download', shape.download),
  }
}
