/**
 * The contract every API list shares: the paging query it takes and the page it answers (built by
 * `listPage` in cursor.ts). Schemas only, so the domain's own schemas can extend the query.
 */
import { z } from '@hono/zod-openapi'

/** A list's paging query: every list is newest first, `limit` ≤ 100, `cursor` from `next_cursor`. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

/** A page of a list (see `paginate` in cursor.ts). */
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
