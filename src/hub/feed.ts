/**
 * The hub's fan-out to live-feed sockets, coalesced: at most one message per MIN_INTERVAL_MS
 * (10 a second) whatever the scan rate, each carrying the exact counters and up to
 * MAX_EVENTS_PER_MESSAGE events; events beyond that are only counted (`omitted`).
 *
 * The queue lives in memory: a hub evicted with events still queued drops them from the feed
 * (never from the counters, which are in storage). A pending timer keeps the hub awake, so
 * hibernation only happens with an empty queue.
 */
import { log } from '../lib/log'
import type { HubCounters, LiveEvent, LiveMessage } from './types'

export const MIN_INTERVAL_MS = 100
export const MAX_EVENTS_PER_MESSAGE = 100

export class LiveFeed {
  #events: LiveEvent[] = []
  #omitted = 0
  #lastSentAt = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  /** The last delivery still waiting for its recipients: later ones go after it. */
  #pending: Promise<void> | undefined
  /** The next update waits for #pending to go. */
  #waiting = false

  /**
   * `sockets`: whoever is watching; `recipients`: those to send to, which may first wait for the
   * hub to confirm their credentials (watchers.ts); `stillWatching`: whether a socket may still
   * be sent a message that had to wait.
   */
  constructor(
    private readonly sockets: () => WebSocket[],
    private readonly recipients: () => WebSocket[] | Promise<WebSocket[]>,
    private readonly counters: () => HubCounters,
    private readonly stillWatching: (ws: WebSocket) => boolean = () => true,
  ) {}

  /** Queues events for the watchers; `events` is called only when someone is watching. */
  push(events: () => LiveEvent[]) {
    if (!this.sockets().length) return
    const queued = events()
    if (!queued.length) return
    for (const event of queued) {
      if (this.#events.length < MAX_EVENTS_PER_MESSAGE) this.#events.push(event)
      else this.#omitted++
    }
    this.#schedule()
  }

  /**
   * Builds the next update once MIN_INTERVAL_MS has passed since the last one, and not while one
   * still waits for its recipients: events keep coalescing meanwhile, so a wait for a
   * credentials check never turns into a burst of updates.
   */
  #schedule() {
    if (this.#timer || this.#waiting) return
    const wait = this.#lastSentAt + MIN_INTERVAL_MS - Date.now()
    if (wait <= 0) {
      this.#sendWhenFree()
      return
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#sendWhenFree()
    }, wait)
  }

  #sendWhenFree() {
    const pending = this.#pending
    if (!pending) {
      this.#send()
      return
    }
    this.#waiting = true
    void pending.then(() => {
      this.#waiting = false
      this.#sendWhenFree()
    })
  }

  #send() {
    if (!this.#events.length && !this.#omitted) return
    const message: LiveMessage = {
      type: 'update',
      counters: this.counters(),
      events: this.#events,
      omitted: this.#omitted,
    }
    this.#events = []
    this.#omitted = 0
    this.#lastSentAt = Date.now()
    this.deliver(this.recipients(), message)
  }

  /**
   * Sends `message` to `recipients` once they are known, in the order of the calls: a message
   * whose recipients are known at once still waits for the ones before it that are not.
   */
  deliver(recipients: WebSocket[] | Promise<WebSocket[]>, message: LiveMessage) {
    if (Array.isArray(recipients) && !this.#pending) {
      broadcast(recipients, message)
      return
    }
    const ready = Promise.resolve(recipients)
    ready.catch(() => {}) // handled below, in turn
    // After the one before it; never rejects, so a failed delivery holds up none after it.
    const delivered = (this.#pending ?? Promise.resolve())
      .then(() => ready)
      .then(
        (sockets) => broadcast(sockets.filter(this.stillWatching), message),
        (err: unknown) => log.error('live feed: a message was not sent', {}, err),
      )
    this.#pending = delivered
    void delivered.finally(() => {
      if (this.#pending === delivered) this.#pending = undefined
    })
  }
}

export function broadcast(sockets: WebSocket[], message: LiveMessage) {
  const text = JSON.stringify(message)
  for (const ws of sockets) {
    try {
      ws.send(text)
    } catch {
      // A socket closing under us: its close event cleans up.
    }
  }
}
