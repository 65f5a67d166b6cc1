/**
 * The API's shared pieces: the OpenAPIHono factory whose validation hook turns zod failures into
 * our one error shape, and the reusable OpenAPI response declarations.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi'
import { TrieRouter } from 'hono/router/trie-router'
import type { AppEnv } from '../env'
import { ApiError } from '../errors'

/** Where a field came from, in the words of the HTTP request rather than the framework's. */
const TARGET_NAMES: Record<string, string> = { json: 'body', form: 'body', param: 'path' }

export function createApi() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return
      const errors = result.error.issues.map((issue) => ({
        path: [TARGET_NAMES[result.target] ?? result.target, ...issue.path].join('.'),
        message: issue.message,
      }))
      const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ')
      throw new ApiError(400, 'validation_failed', detail, errors)
    },
  })
}

export type Api = ReturnType<typeof createApi>

/**
 * Registered last on the API: a path the API answers under other methods gets a 405 with `Allow`
 * (RFC 9110 §15.5.6), any other the one 404. The methods come from the API's own routes, read
 * when the first such request arrives, so they cannot disagree with what is registered.
 */
export function answerUnrouted(api: Api, base: string) {
  let methodsAt: ((path: string) => string[]) | undefined
  api.all('*', (c) => {
    methodsAt ??= routeMethods(api.routes)
    const allow = methodsAt(c.req.path.slice(base.length) || '/')
    // None, or the method is there (a path only a stricter route would take): the one 404.
    if (allow.length === 0 || allow.includes(c.req.method)) return c.notFound()
    throw new ApiError(
      405,
      'method_not_allowed',
      `${c.req.method} is not allowed here; use ${allow.join(', ')}.`,
      undefined,
      { allow: allow.join(', ') },
    )
  })
}

/**
 * Which methods `routes` answer at a path (`HEAD` wherever `GET`; middleware is not a route),
 * matched as strictly as the API's own router (`/codes/` is not `/codes`).
 */
function routeMethods(routes: readonly { method: string; path: string }[]) {
  const router = new TrieRouter<string>()
  for (const { method, path } of routes) {
    if (method !== 'ALL') router.add('ALL', path, method)
  }
  return (path: string) => {
    const methods = new Set(router.match('GET', path)[0].map(([method]) => method))
    if (methods.has('GET')) methods.add('HEAD')
    return [...methods].sort()
  }
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:qrcheckout:problem:validation_failed' }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ description: 'Stable machine-readable error code.' }),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem')

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
})

/** Error responses every authenticated endpoint can give. */
export const errorResponses = {
  400: problem('The request is malformed or fails validation.'),
  401: problem('Missing, malformed, unknown or revoked API key.'),
  404: problem('No such resource for this merchant.'),
  413: problem('The body is larger than the API accepts.'),
  415: problem('The body is not JSON.'),
} as const

export const conflict = problem('The change conflicts with the resource state.')
export const unprocessable = problem('The content cannot be turned into a QR symbol.')

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
})

export const security = [{ bearer: [] }]

/** A list's paging query: every list is newest first, `limit` ≤ 100, `cursor` from `next_cursor`. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

/** A page of a list (see `paginate` in lib/cursor.ts). */
export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      object: z.literal('list'),
      data: z.array(item),
      has_more: z.boolean(),
      next_cursor: z.string().nullable(),
    })
    .openapi(name)
}
