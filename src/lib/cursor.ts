/** Opaque cursors for keyset pagination over (time desc, id desc). */
import { and, eq, lt, or, type SQL } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { ApiError } from '../errors'

export interface Cursor {
  at: number
  id: string
}

export function encodeCursor(c: Cursor): string {
  return btoa(`${c.at}:${c.id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (raw === undefined) return undefined
  let text = ''
  try {
    text = atob(raw.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    text = ''
  }
  const match = /^(\d{1,16}):([a-z]{1,8}_[0-9A-Za-z]{1,64})$/.exec(text)
  if (!match) {
    throw new ApiError(400, 'validation_failed', 'cursor is not one this API gave out', [
      { path: 'query.cursor', message: 'invalid cursor' },
    ])
  }
  return { at: Number(match[1]), id: match[2] as string }
}

/** Splits a page fetched with `limit + 1` rows into the page and the cursor of the next one. */
export function paginate<T>(rows: T[], limit: number, key: (row: T) => Cursor) {
  const hasMore = rows.length > limit
  const data = hasMore ? rows.slice(0, limit) : rows
  const last = data.at(-1)
  return {
    object: 'list' as const,
    data,
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(key(last)) : null,
  }
}

/**
 * One page of an API list: `fetchRows` gets `limit + 1` rows after the query's cursor; the answer
 * holds the first `limit`, each presented, and the cursor of the next page.
 */
export async function listPage<T, U>(
  query: { limit: number; cursor?: string },
  fetchRows: (page: { limit: number; after?: Cursor }) => Promise<T[]>,
  key: (row: T) => Cursor,
  present: (row: T) => U,
) {
  const rows = await fetchRows({ limit: query.limit, after: decodeCursor(query.cursor) })
  const page = paginate(rows, query.limit, key)
  return { ...page, data: page.data.map(present) }
}

/** The rows after a cursor in (time desc, id desc) order; no condition without a cursor. */
export function after(
  at: SQLiteColumn,
  id: SQLiteColumn,
  cursor: Cursor | undefined,
): SQL | undefined {
  if (!cursor) return undefined
  return or(lt(at, cursor.at), and(eq(at, cursor.at), lt(id, cursor.id)))
}
