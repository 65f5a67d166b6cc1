/**
 * Who is behind a live feed: its subject, an API key id or an admin session (`admin:<hash>`),
 * which must still be live when the feed is opened (live-routes.ts) and while it runs: the hub
 * asks again every CREDENTIALS_CHECK_MS (watchers.ts). Loaded by the hub only when it checks.
 */

import { isApiKeyActive } from '../auth/queries'
import { ADMIN_SUBJECT, isAdminSessionActive } from '../auth/sessions'
import { createDb, type Db } from '../db/client'

/** Whether the API key, or the admin session, behind a feed is still live. */
export function isSubjectLive(db: Db, subject: string): Promise<boolean> {
  return subject.startsWith(ADMIN_SUBJECT)
    ? isAdminSessionActive(db, subject.slice(ADMIN_SUBJECT.length))
    : isApiKeyActive(db, subject)
}

/** The subjects of `subjects` that are still live (one D1 read each; a hub's feeds have few). */
export async function liveSubjects(d1: D1Database, subjects: string[]): Promise<Set<string>> {
  const db = createDb(d1)
  const live = await Promise.all(subjects.map((s) => isSubjectLive(db, s)))
  return new Set(subjects.filter((_, i) => live[i]))
}
