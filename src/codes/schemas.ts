/**
 * The codes API contract. These zod schemas validate requests and generate `/openapi.json`;
 * rules that need more than a shape (URLs, money, slugs) live in `rules.ts`.
 */
import { z } from '@hono/zod-openapi'
import { PageQuery } from '../lib/paging'
import { customerText, text } from '../lib/text'
import { StoredCurrency, SUPPORTED_CURRENCIES } from '../money/currency'
import { PAYABLE_REASONS } from '../money/payment-mode'

export const METADATA_MAX_KEYS = 20

/**
 * zod leaves a "__proto__" key out of the record it returns (so no one can set a prototype), which
 * would drop the merchant's value without a word: it is refused before that.
 */
const refuseProtoKey = (value: unknown, ctx: z.RefinementCtx) => {
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', message: 'metadata keys cannot be "__proto__"' })
  }
  return value
}

/**
 * The rule for metadata keys, as JSON Schema says it (`propertyNames`, valid in OpenAPI 3.1, which
 * the metadata type of zod-openapi does not list, hence `object`).
 */
const METADATA_KEYS: object = {
  propertyNames: { minLength: 1, maxLength: 40, not: { const: '__proto__' } },
}

const Metadata = z
  .preprocess(
    refuseProtoKey,
    z
      .record(text().min(1).max(40), text().max(500, 'metadata values are at most 500 characters'))
      // The count is checked around this record (refine), the keys by its key schema and
      // refuseProtoKey; stated here for the contract.
      .openapi({ maxProperties: METADATA_MAX_KEYS, ...METADATA_KEYS }),
  )
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, {
    message: `metadata has at most ${METADATA_MAX_KEYS} keys`,
  })
  .openapi({
    description: `Your own key/value strings (at most ${METADATA_MAX_KEYS} keys, keys ≤ 40 and values ≤ 500 characters).`,
    example: { table: '12' },
  })

const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'currency is a three-letter ISO 4217 code')
  .transform((s) => s.toLowerCase())
  .refine((s) => SUPPORTED_CURRENCIES.includes(s), {
    message: `currency is not supported; use one of: ${SUPPORTED_CURRENCIES.join(', ')}`,
  })
  .openapi({
    example: 'eur',
    description: `ISO 4217, case-insensitive; stored lower-case. Supported: ${SUPPORTED_CURRENCIES.join(', ')}.`,
  })

const MinorAmount = z
  .number()
  .int('amounts are integers in the currency minor unit (cents, yen…)')
  .positive()
  .openapi({ example: 450, description: 'Integer in the minor unit of the currency.' })

const Timestamp = z.iso
  .datetime({ offset: true, message: 'use an ISO 8601 date-time such as 2030-01-31T23:59:00Z' })
  .openapi({ example: '2030-01-31T23:59:00Z' })

const Destination = z
  .string()
  .min(1)
  .max(2048, 'destination_url is at most 2048 characters')
  .openapi({ example: 'https://example.com/menu' })

const MaxPayments = z
  .number()
  .int()
  .min(1)
  .max(1_000_000)
  .openapi({ description: 'At most this many paid payments; 1 makes a single-use code.' })

/** Customers read both (the page's heading; the receipt's "Merchant ref."): see lib/text.ts. */
const CUSTOMER_TEXT =
  'Stored in Unicode NFC; direction controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), invisible characters (U+200B–U+200D, U+2060, U+FEFF…) and control characters are refused.'
const Description = customerText({ multiline: true })
  .trim()
  .min(1)
  .max(500)
  .openapi({
    description: `Shown to customers as the page's heading. ${CUSTOMER_TEXT} Line breaks are allowed.`,
  })
const Reference = customerText()
  .min(1)
  .max(128)
  .openapi({ description: `Your own id for this code, shown on receipts. ${CUSTOMER_TEXT}` })

const VanitySlug = z
  .string()
  .regex(/^[A-Za-z0-9_-]{3,64}$/, 'slug is 3–64 characters of A–Z, a–z, 0–9, _ and -')
  .openapi({ example: 'cafe-luna', description: 'Case-insensitive; stored lower-case.' })

const Mode = z.enum(['dynamic', 'static']).openapi({
  description:
    '`dynamic`: the QR holds our short URL, so everything can change after printing. `static`: fixed forever; a static redirect QR holds the destination itself.',
})

const common = {
  mode: Mode.default('dynamic'),
  slug: VanitySlug.optional(),
  status: z.enum(['active', 'paused']).default('active'),
  expires_at: Timestamp.optional(),
  metadata: Metadata.default({}),
  reference: Reference.optional(),
}

export const CreateRedirectCode = z.strictObject({
  action: z.literal('redirect'),
  destination_url: Destination,
  allow_http: z
    .boolean()
    .default(false)
    .openapi({ description: 'Allow a plain-http destination.' }),
  ...common,
})

export const CreateCheckoutCode = z.strictObject({
  action: z.literal('checkout'),
  currency: Currency,
  amount: MinorAmount.optional().openapi({ description: 'Fixed amount. Omit for an open amount.' }),
  amount_min: MinorAmount.optional(),
  amount_max: MinorAmount.optional(),
  description: Description,
  max_payments: MaxPayments.optional(),
  ...common,
})

export const CreateCode = z
  .discriminatedUnion('action', [CreateRedirectCode, CreateCheckoutCode])
  .openapi('CreateCode')

export const UpdateCode = z
  .strictObject({
    destination_url: Destination.optional(),
    allow_http: z.boolean().optional(),
    currency: Currency.optional(),
    amount: MinorAmount.optional(),
    amount_min: MinorAmount.optional(),
    amount_max: MinorAmount.optional(),
    description: Description.optional(),
    max_payments: MaxPayments.nullable().optional(),
    status: z.enum(['active', 'paused', 'archived']).optional(),
    expires_at: Timestamp.nullable().optional(),
    metadata: Metadata.optional(),
    reference: Reference.nullable().optional(),
    version: z.number().int().positive().optional().openapi({
      description:
        'The `version` you last read. When given, the update applies only if the code is still at that version; otherwise `409 version_conflict` and nothing changes.',
    }),
  })
  .openapi('UpdateCode')

export const CodeObject = z
  .object({
    id: z.string().openapi({ example: 'code_4kF0cT9aQ2mZ1xY7bN3vW8' }),
    object: z.literal('code'),
    slug: z.string(),
    url: z.string().openapi({ description: 'The short URL a scan opens.' }),
    qr_svg_url: z.string(),
    qr_content: z.string().openapi({ description: 'Exactly what the QR symbol encodes.' }),
    mode: z.enum(['dynamic', 'static']),
    action: z.enum(['redirect', 'checkout']),
    status: z.enum(['active', 'paused', 'archived']),
    destination_url: z.string().nullable(),
    allow_http: z.boolean(),
    currency: StoredCurrency.nullable(),
    amount: z.number().int().nullable(),
    amount_min: z.number().int().nullable(),
    amount_max: z.number().int().nullable(),
    description: z.string().nullable(),
    max_payments: z.number().int().nullable(),
    payable: z.boolean().nullable().openapi({
      description:
        "Checkout codes: whether the merchant's payment account can take this code's payments now (its status, expiry and limit aside); null for redirect codes.",
    }),
    payable_reason: z.enum(PAYABLE_REASONS).nullable().openapi({
      description:
        'Why not, when `payable` is false: `no_payment_account` (platform mode, no Stripe account connected), `account_not_ready` (Stripe does not let it take charges yet), `payments_not_configured`. See `GET /api/v1/account`.',
    }),
    expires_at: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    reference: z.string().nullable(),
    version: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Code')

export const CodeId = z
  .string()
  .regex(/^code_[0-9A-Za-z]{1,64}$/, 'not a code id')
  .openapi({ param: { name: 'id', in: 'path' }, example: 'code_4kF0cT9aQ2mZ1xY7bN3vW8' })

export const ListCodesQuery = z.strictObject({
  status: z.enum(['active', 'paused', 'archived']).optional(),
  action: z.enum(['redirect', 'checkout']).optional(),
  ...PageQuery.shape,
})

export const ScanObject = z
  .object({
    id: z.string(),
    object: z.literal('scan'),
    code_id: z.string(),
    scanned_at: z.string(),
    method: z.enum(['GET', 'HEAD']),
    is_bot: z.boolean(),
    device: z.string(),
    browser: z.string().nullable(),
    os: z.string().nullable(),
    country: z.string().nullable(),
    region: z.string().nullable(),
    city: z.string().nullable(),
    colo: z.string().nullable(),
    referrer_host: z.string().nullable(),
  })
  .openapi('Scan')

export type CreateCodeInput = z.infer<typeof CreateCode>
export type UpdateCodeInput = z.infer<typeof UpdateCode>
