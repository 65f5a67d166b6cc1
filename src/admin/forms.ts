/**
 * Admin forms speak the API's language: a submitted form becomes the same JSON the API takes and
 * goes through the same zod schema and the same codes service, so there is one validation path.
 */
import type { z } from '@hono/zod-openapi'
import { CreateCode, UpdateCode } from '../codes/schemas'
import { ApiError, type FieldError } from '../errors'
import { parseMajorAmount } from '../money/currency'

export type Form = Record<string, string>

/** Reads a urlencoded body into plain strings (repeated fields keep the last value). */
export async function readForm(request: {
  parseBody(): Promise<Record<string, unknown>>
}): Promise<Form> {
  const body = await request.parseBody().catch(() => ({}))
  const form: Form = {}
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') form[key] = value.slice(0, 4000)
  }
  return form
}

/** Field → message, for showing next to the inputs. */
export type FormErrors = Record<string, string>

export function errorsOf(err: unknown): FormErrors {
  if (err instanceof ApiError) {
    const errors: FormErrors = {}
    for (const e of err.errors ?? []) errors[e.path.replace(/^body\./, '')] ??= e.message
    if (!Object.keys(errors).length) errors._ = err.message
    return errors
  }
  throw err
}

function minor(
  form: Form,
  field: string,
  currency: string,
  problems: FieldError[],
): number | undefined {
  const raw = form[field]?.trim()
  if (!raw) return undefined
  const parsed = parseMajorAmount(raw, currency || 'usd')
  if (typeof parsed === 'string') {
    problems.push({ path: `body.${field}`, message: parsed })
    return undefined
  }
  return parsed
}

function fail(problems: FieldError[]): never {
  throw new ApiError(400, 'validation_failed', problems.map((p) => p.message).join('; '), problems)
}

function parsed<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  fail(
    result.error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message })),
  )
}

const optional = (v: string | undefined) => (v?.trim() ? v.trim() : undefined)

/** `2030-01-31T18:00` from a datetime-local field, read as UTC. */
function expiry(v: string | undefined): string | undefined {
  const value = optional(v)
  return value ? `${value.length === 16 ? `${value}:00` : value}Z` : undefined
}

export function createInputOf(form: Form) {
  const problems: FieldError[] = []
  const currency = (form.currency ?? '').toLowerCase()
  const open = form.amount_type === 'open'
  const input =
    form.action === 'checkout'
      ? {
          action: 'checkout',
          currency: optional(form.currency),
          amount: open ? undefined : minor(form, 'amount', currency, problems),
          amount_min: open ? minor(form, 'amount_min', currency, problems) : undefined,
          amount_max: open ? minor(form, 'amount_max', currency, problems) : undefined,
          description: optional(form.description),
          max_payments: optional(form.max_payments) ? Number(form.max_payments) : undefined,
        }
      : {
          action: form.action,
          destination_url: optional(form.destination_url),
          allow_http: form.allow_http === 'on',
        }
  if (problems.length) fail(problems)
  return parsed(CreateCode, {
    ...input,
    mode: form.mode === 'static' ? 'static' : 'dynamic',
    slug: optional(form.slug),
    expires_at: expiry(form.expires_at),
    reference: optional(form.reference),
  })
}

/** The patch an edit form asks for, in the API's terms; only fields present in the form. */
export function updateInputOf(form: Form, currency: string | null) {
  const problems: FieldError[] = []
  const patch: Record<string, unknown> = {}
  // Present but emptied is a change the schema refuses (with a message), not "no change".
  if ('destination_url' in form) patch.destination_url = form.destination_url?.trim()
  if ('description' in form) patch.description = form.description?.trim()
  if (form.amount_type === 'fixed') patch.amount = minor(form, 'amount', currency ?? '', problems)
  if (form.amount_type === 'open') {
    patch.amount_min = minor(form, 'amount_min', currency ?? '', problems)
    patch.amount_max = minor(form, 'amount_max', currency ?? '', problems)
  }
  if ('expires_at' in form) patch.expires_at = expiry(form.expires_at) ?? null
  if ('max_payments' in form) {
    patch.max_payments = optional(form.max_payments) ? Number(form.max_payments) : null
  }
  if (problems.length) fail(problems)
  return parsed(UpdateCode, patch)
}
