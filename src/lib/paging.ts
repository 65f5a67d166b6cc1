/**
 * The contract every API list shares: the paging query it takes and the page it answers (built by
 * `listPage` in cursor.ts). Schemas only, so the domain's own schemas can extend the query.
 */
import { z } from '@hono/zod-openapi'

/**
 * What `encodeCursor` (cursor.ts) gives out: base64url without padding. Declared, not checked
 * here: a cursor is refused (400) when it does not decode to one this API gave out.
 */
const CURSOR_PATTERN = '^[A-Za-z0-9_-]+$'

/** A list's paging query: every list is newest first, `limit` ≤ 100, `cursor` from `next_cursor`. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().openapi({
    description: 'The `next_cursor` of the previous page, as given: it is opaque.',
    pattern: CURSOR_PATTERN,
  }),
})

/** A page of a list (see `paginate` in cursor.ts). */
export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      object: z.literal('list'),
      data: z.array(item),
      has_more: z.boolean(),
      next_cursor: z
        .string()
        .nullable()
        .openapi({ pattern: CURSOR_PATTERN, description: 'Pass as `cursor` for the next page.' }),
    })
    .openapi(name)
}
