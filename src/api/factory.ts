/**
 * The API's shared pieces: the OpenAPIHono factory whose validation hook turns zod failures into
 * our one error shape, and the reusable OpenAPI response declarations.
 */
import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { TrieRouter } from 'hono/router/trie-router'
import { hasScope, insufficientScope, type Scope } from '../auth/scopes'
import type { AppEnv } from '../env'
import { ApiError, type ErrorCode, type FieldError } from '../errors'
import { ruleOf } from '../lib/text'
import { IDEMPOTENCY_CLAIM_MS, IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN } from './idempotency'

/** Where a field came from, in the words of the HTTP request rather than the framework's. */
const TARGET_NAMES: Record<string, string> = { json: 'body', form: 'body', param: 'path' }

export function createApi() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return
      const errors: FieldError[] = result.error.issues.map((issue) => {
        const rule = ruleOf(issue) as ErrorCode | undefined
        return {
          path: [TARGET_NAMES[result.target] ?? result.target, ...issue.path].join('.'),
          message: issue.message,
          ...(rule && { code: rule }),
        }
      })
      const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ')
      // Refused by one named rule alone (a direction control in the description, say): the
      // problem carries that rule's code; mixed problems stay `validation_failed`.
      const rules = new Set(errors.map((e) => e.code))
      const [only] = rules
      throw new ApiError(400, rules.size === 1 && only ? only : 'validation_failed', detail, errors)
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
    errors: z
      .array(
        z.object({
          path: z.string(),
          message: z.string(),
          code: z
            .string()
            .optional()
            .openapi({ description: 'The rule this field broke, when it has its own code.' }),
        }),
      )
      .optional(),
  })
  .openapi('Problem')

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
})

export const conflict = problem('The change conflicts with the resource state.')
export const unprocessable = problem('The content cannot be turned into a QR symbol.')
export const unavailable = problem(
  'A service this needs is not available right now (nothing was changed); retry later.',
)
/** Answers that carry absolute URLs (`url`, `qr_content`…) when production has no origin set. */
export const notConfigured = problem(
  'This deployment has no public origin (`PUBLIC_BASE_URL`) to build the URLs of this answer with (nothing was changed).',
)

/** A write, as the API's write limit counts them (app.tsx): any method but GET and HEAD. */
export const isWrite = (method: string) => !/^(get|head)$/i.test(method)

/** What a 429 carries, as every problem answer of that status does (http.tsx `renderError`). */
const retryAfter = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer' as const, minimum: 1 },
  },
}

/**
 * Declares an operation (`createRoute`) with the error responses its shape can give, so the
 * published contract lists those and no others; `responses` adds the ones only its handler
 * knows (409, 422, 503…):
 * - 400 always (validation). An operation without a query schema refuses any query parameter,
 *   as every other unknown field is refused;
 * - 401 when it needs credentials (a non-empty `security`; a public one says `security: []`);
 * - 404 when its path names a resource (`{id}`);
 * - under the API key: 403 when the key lacks the operation's `scope`; 413 for any method, since
 *   the API's body limit (app.tsx) reads a body wherever one is sent, a GET's too; 415 when it
 *   takes a JSON body; 429 with `Retry-After` for writes (the merchant's write limit);
 * - under the API key, for a POST: the optional `Idempotency-Key` header (api/idempotency.ts)
 *   and its 409 and 422 (said alongside an operation's own 409 or 422).
 * `operationId` is required: it names the method a generated client gets (camelCase verb first,
 * `listCodes`), and the OpenAPI lint test refuses an operation without one.
 *
 * An operation under the API key must name its `scope`: it is published (the bearer requirement's
 * role list, as OpenAPI 3.1 allows for http schemes, an `x-scopes` extension and a sentence of the
 * description) and checked by route middleware before validation, so no handler can forget it.
 */
export function apiRoute<const R extends RouteConfig & { operationId: string; scope?: Scope }>(
  config: R,
): R {
  const { scope, ...route } = config
  const guarded = (route.security?.length ?? 0) > 0
  if (guarded !== (scope !== undefined)) {
    throw new Error(`${route.method} ${route.path}: a scope is needed exactly when a key is`)
  }
  const write = isWrite(route.method)
  const idempotent = guarded && route.method.toLowerCase() === 'post'
  const derived: RouteConfig['responses'] = {
    400: problem('The request is malformed or fails validation.'),
    ...(guarded && { 401: problem('Missing, malformed, unknown or revoked credentials.') }),
    ...(scope && {
      403: problem(`The API key does not have the \`${scope}\` scope (\`insufficient_scope\`).`),
    }),
    ...(route.path.includes('{') && { 404: problem('No such resource for this merchant.') }),
    ...(guarded && { 413: problem('The body is larger than the API accepts.') }),
    ...(route.request?.body && { 415: problem('The body is not JSON.') }),
    ...(guarded &&
      write && {
        429: {
          ...problem(
            "Too many writes with this merchant's API keys; retry after `Retry-After` seconds.",
          ),
          headers: retryAfter,
        },
      }),
    ...(idempotent && {
      409: problem(
        'Another request with this `Idempotency-Key` is still running (`idempotency_key_in_progress`); retry after `Retry-After` seconds.',
      ),
      422: problem(
        'This `Idempotency-Key` was used with another method, path or body (`idempotency_key_reused`).',
      ),
    }),
  }
  const scoped = scope && {
    security: route.security?.map((req) => ('bearer' in req ? { ...req, bearer: [scope] } : req)),
    description: [route.description, `Needs the \`${scope}\` scope.`].filter(Boolean).join(' '),
    'x-scopes': [scope],
    middleware: [requireScope(scope), ...[route.middleware ?? []].flat()],
  }
  return createRoute({
    ...route,
    request: {
      query: z.strictObject({}),
      ...(idempotent && { headers: IdempotencyHeaders }),
      ...route.request,
    },
    responses: { ...derived, ...withIdempotency(derived, route.responses) },
    ...scoped,
  } as RouteConfig) as unknown as R
}

/** The optional header of every API POST; see api/idempotency.ts. */
const IdempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN)
    .optional()
    .openapi({
      description: `Makes the POST safe to retry: for 24 hours, this merchant's requests with the same key and the same body get the first answer again (same status and body, with \`Idempotent-Replayed: true\`) instead of acting twice. The same key with another method, path or body → 422 \`idempotency_key_reused\`; while the first request runs → 409 \`idempotency_key_in_progress\` (a claim left by a request that died frees after ${IDEMPOTENCY_CLAIM_MS / 1000} s). Answers 5xx and 429 are not kept, so a retry runs again. 1–255 printable ASCII characters; a random UUID is a good key.`,
      example: '5f0c1e9a-8d2b-4f61-9a3e-2b7c4d1e0f99',
    }),
})

/** An operation's own responses, its 409 and 422 also naming the idempotency answers there. */
function withIdempotency(derived: RouteConfig['responses'], own: RouteConfig['responses']) {
  const merged = { ...own }
  for (const status of [409, 422] as const) {
    const mine = merged[status]
    const shared = derived[status]
    if (mine && shared && 'description' in mine && 'description' in shared) {
      merged[status] = { ...mine, description: `${mine.description} Or: ${shared.description}` }
    }
  }
  return merged
}

/** Refuses a key without `scope` (403 `insufficient_scope`); admin sessions never come here. */
const requireScope = (scope: Scope) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!hasScope(c.var.auth.scopes, scope)) throw insufficientScope(scope)
    await next()
  })

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
})

export const security = [{ bearer: [] }]
