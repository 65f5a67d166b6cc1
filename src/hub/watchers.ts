/**
 * The live feed's watchers: WebSockets the hub accepted with the hibernation API (the Worker has
 * authenticated them, live-routes.ts), each carrying across hibernation when it opened and who
 * opened it. A feed lasts FEED_MAX_MS; before it is sent anything more, the API key or admin
 * session behind it is confirmed in D1 again every CREDENTIALS_CHECK_MS (credentials.ts).
 * Plain functions over CodeHub's `Feeds`: the sockets are the runtime's, the rest is in memory.
 */
import { lazy } from '../lib/lazy'
import { log } from '../lib/log'
import { withTimeout } from '../lib/timeout'

/** Live-feed sockets one hub accepts at once (each browser tab or SSE stream is one). */
export const MAX_WATCHERS = 200
/**
 * Sockets one hub holds at all, expired ones still closing included: a client that never answers
 * the close keeps its socket listed, and must not make room for more.
 */
export const MAX_SOCKETS = 2 * MAX_WATCHERS
/** A watcher's "counters" requests are answered this often at most. */
export const COUNTERS_EVERY_MS = 1_000
/**
 * A feed lasts this long. Then the hub closes it (FEED_EXPIRED) before sending it anything more,
 * and the client reconnects, its credentials checked again: a revoked key's feed, or a signed-out
 * admin's, gets nothing after it.
 */
export const FEED_MAX_MS = 30 * 60_000
export const FEED_EXPIRED = 4001
/**
 * Before a feed is sent anything more, or answered, the hub confirms in D1 that the API key or
 * admin session behind it is still live, once this long has passed since the last confirmation
 * (the Worker's, when the feed opened). A feed whose credentials ended is closed with
 * FEED_REVOKED. A check also confirms the feeds that would be due within CHECK_AHEAD_MS, so
 * feeds opened at different times share checks. If D1 fails or takes longer than
 * CREDENTIALS_TIMEOUT_MS (updates wait for a check), feeds go on and the check is tried again
 * after CREDENTIALS_RETRY_MS.
 */
export const CREDENTIALS_CHECK_MS = 60_000
const CHECK_AHEAD_MS = CREDENTIALS_CHECK_MS / 2
export const CREDENTIALS_TIMEOUT_MS = 2_000
export const CREDENTIALS_RETRY_MS = 10_000
/** Keys or sessions one check asks D1 about (a D1 read each); any others wait for the next. */
const SUBJECTS_PER_CHECK = 20
/**
 * Checks one message waits for at most; a feed still unchecked after them (more than
 * SUBJECTS_PER_CHECK × CHECK_ROUNDS keys or sessions due at once) is left out of that message.
 */
const CHECK_ROUNDS = 3
export const FEED_REVOKED = 4003

/** What a live-feed socket carries across hibernation. */
interface Watcher {
  openedAt: number
  /** The API key id or `admin:<session hash>` the feed was opened with (credentials.ts). */
  subject?: string
  /** When its credentials were last confirmed live; `openedAt` until the hub checks. */
  checkedAt?: number
  countersAt?: number
}

/** A hub's feeds: its sockets, and what it knows of them in memory (gone after hibernation). */
export interface Feeds {
  readonly ctx: DurableObjectState
  /** The hub's D1, read at each check. */
  readonly db: () => D1Database
  readonly codeId: () => string
  /**
   * Until then no watcher can have expired or be due for a credentials check: the earliest such
   * instant over the open sockets. 0 after a wake from hibernation, so the first look reads
   * every socket.
   */
  validUntil: number
  /** The credentials check in flight, if any (one at a time). */
  checking: Promise<void> | undefined
  /** No credentials check starts before then: set after one that D1 could not answer. */
  checkAfter: number
}

export function feedsOf(
  ctx: DurableObjectState,
  db: () => D1Database,
  codeId: () => string,
): Feeds {
  return { ctx, db, codeId, validUntil: 0, checking: undefined, checkAfter: 0 }
}

const credentials = lazy(() => import('./credentials'))

/** Whether the hub has no room for another feed. */
export function isFull(feeds: Feeds, now: number): boolean {
  return (
    watchers(feeds, now).length >= MAX_WATCHERS || feeds.ctx.getWebSockets().length >= MAX_SOCKETS
  )
}

/** Accepts a live-feed socket; `subject` is who the Worker opened it for. */
export function acceptWatcher(
  feeds: Feeds,
  ws: WebSocket,
  subject: string | undefined,
  now: number,
) {
  feeds.ctx.acceptWebSocket(ws)
  ws.serializeAttachment({ openedAt: now, subject } satisfies Watcher)
  feeds.validUntil = Math.min(feeds.validUntil, now + CREDENTIALS_CHECK_MS)
}

/**
 * Whether to answer a watcher's message with the counters; an expired feed is closed instead.
 * The feed is one-way: a client may ask for the counters again, once a second at most ("ping"
 * is answered by the runtime without waking the hub).
 */
export function takeCountersRequest(ws: WebSocket, message: string | ArrayBuffer, now: number) {
  const watcher = watcherOf(ws)
  if (expired(watcher, now)) {
    endFeed(ws)
    return false
  }
  if (message !== 'counters') return false
  if (now - (watcher.countersAt ?? 0) < COUNTERS_EVERY_MS) return false
  ws.serializeAttachment({ ...watcher, countersAt: now } satisfies Watcher)
  return true
}

/** Whether a socket may still be sent a message that had to wait (LiveFeed's `stillWatching`). */
export function stillWatching(ws: WebSocket, now: number): boolean {
  return ws.readyState === WebSocket.OPEN && !expired(watcherOf(ws), now)
}

/**
 * The live-feed sockets within FEED_MAX_MS; the others are closed here, sent nothing more. Reads
 * the sockets' attachments only once a watcher may have expired or be due for a check.
 */
export function watchers(feeds: Feeds, now = Date.now()): WebSocket[] {
  // A socket being closed (an expired feed whose client has not answered) is not a watcher.
  const sockets = openSockets(feeds)
  if (now < feeds.validUntil) return sockets
  const open: WebSocket[] = []
  let validUntil = Number.POSITIVE_INFINITY
  for (const ws of sockets) {
    const watcher = watcherOf(ws)
    if (expired(watcher, now)) endFeed(ws)
    else {
      open.push(ws)
      const due = Math.max(checkDueAt(watcher), feeds.checkAfter)
      validUntil = Math.min(validUntil, watcher.openedAt + FEED_MAX_MS, due)
    }
  }
  feeds.validUntil = validUntil
  return open
}

function openSockets(feeds: Feeds): WebSocket[] {
  return feeds.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN)
}

/**
 * The watchers to send an update to: at once when no feed is due for a credentials check
 * (CREDENTIALS_CHECK_MS), else once it has been checked.
 */
export function recipients(feeds: Feeds): WebSocket[] | Promise<WebSocket[]> {
  const now = Date.now()
  const open = watchers(feeds, now)
  if (now < feeds.validUntil) return open
  return confirmed(feeds, open)
}

/**
 * `sockets` once each one due for a credentials check has had it, less those it closed. The
 * recipients are fixed when the message is built, so a feed opened meanwhile is sent nothing
 * older than its hello (and LiveFeed.deliver keeps the messages in order).
 */
export async function confirmed(feeds: Feeds, sockets: WebSocket[]): Promise<WebSocket[]> {
  const stillDue = (ws: WebSocket) => {
    const now = Date.now()
    return now >= feeds.checkAfter && checkDueAt(watcherOf(ws)) <= now
  }
  // A check covers the feeds due when it starts (SUBJECTS_PER_CHECK keys or sessions at most):
  // one that fell due meanwhile, or was left for later, needs the next.
  for (let round = 0; round < CHECK_ROUNDS; round++) {
    if (!sockets.some((ws) => ws.readyState === WebSocket.OPEN && stillDue(ws))) break
    await checkCredentials(feeds)
  }
  // One still unchecked (more keys than the rounds cover) gets this message only if D1 failed.
  // (One that expires before the message leaves gets nothing: LiveFeed's `stillWatching`.)
  return sockets.filter((ws) => ws.readyState === WebSocket.OPEN && !stillDue(ws))
}

/** Confirms in D1 that the credentials behind the feeds due for it are still live. */
function checkCredentials(feeds: Feeds): Promise<void> {
  feeds.checking ??= runCredentialsCheck(feeds).finally(() => {
    feeds.checking = undefined
  })
  return feeds.checking
}

async function runCredentialsCheck(feeds: Feeds) {
  const now = Date.now()
  // The most overdue first: they take the check's SUBJECTS_PER_CHECK places.
  const due = openSockets(feeds)
    .map((ws) => ({ ws, at: checkDueAt(watcherOf(ws)) }))
    .filter(({ at }) => at <= now + CHECK_AHEAD_MS)
    .sort((a, b) => a.at - b.at)
    .map(({ ws }) => ws)
  const subjects = new Set<string>()
  for (const ws of due) {
    const subject = watcherOf(ws).subject
    if (subject && subjects.size < SUBJECTS_PER_CHECK) subjects.add(subject)
  }
  let live: Set<string>
  try {
    live = await withTimeout(
      credentials.get().then((m) => m.liveSubjects(feeds.db(), [...subjects])),
      CREDENTIALS_TIMEOUT_MS,
    )
  } catch (err) {
    // Feeds go on meanwhile: closing every feed whenever D1 falters would be worse.
    feeds.checkAfter = Date.now() + CREDENTIALS_RETRY_MS
    log.error(
      "live feeds' credentials not checked; retrying",
      { codeId: feeds.codeId(), retryInMs: CREDENTIALS_RETRY_MS },
      err,
    )
    return
  } finally {
    feeds.validUntil = 0
  }
  for (const ws of due) {
    // Read again: a counters request may have written the attachment meanwhile.
    const watcher = watcherOf(ws)
    if (!watcher.subject) endFeed(ws)
    else if (!subjects.has(watcher.subject))
      continue // asked about by the next check
    else if (!live.has(watcher.subject)) revokeFeed(ws)
    else ws.serializeAttachment({ ...watcher, checkedAt: now } satisfies Watcher)
  }
}

/** A socket accepted before sockets carried their opening time counts as expired. */
function watcherOf(ws: WebSocket): Watcher {
  const attached = ws.deserializeAttachment() as Partial<Watcher> | null
  return { ...attached, openedAt: attached?.openedAt ?? 0 }
}

const expired = (watcher: Watcher, now: number) => now - watcher.openedAt >= FEED_MAX_MS

/** When a feed's credentials are next to be confirmed. */
const checkDueAt = (watcher: Watcher) =>
  (watcher.checkedAt ?? watcher.openedAt) + CREDENTIALS_CHECK_MS

/** A feed whose API key was revoked or whose admin session ended: closed, not to reconnect. */
function revokeFeed(ws: WebSocket) {
  try {
    ws.close(FEED_REVOKED, 'credentials ended')
  } catch {
    // Already closing.
  }
}

function endFeed(ws: WebSocket) {
  try {
    ws.close(FEED_EXPIRED, 'feed expired: reconnect')
  } catch {
    // Already closing.
  }
}
