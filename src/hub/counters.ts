/**
 * The code's exact counters, kept in the hub's storage next to the scans and funnel steps that
 * move them, in the same transaction. Unique visitors are counted per UTC day from the visitor
 * hashes of the day, which are kept only until the day is over.
 */
import type { HubCounters, HubScan } from './types'

const COUNTER_NAMES = [
  'scans',
  'human',
  'bot',
  'checkout_views',
  'pay_pressed',
  'paid',
  'human_qr',
  'human_direct',
] as const
type CounterName = (typeof COUNTER_NAMES)[number]

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Counts newly stored scans, and the visitors among them not seen before on their day. */
export function countScans(sql: SqlStorage, scans: HubScan[]) {
  const add = new Map<string, number>()
  const bump = (name: string) => add.set(name, (add.get(name) ?? 0) + 1)
  const days = new Map<string, Set<string>>()
  for (const s of scans) {
    bump('scans')
    bump(s.isBot ? 'bot' : 'human')
    if (s.isBot) continue
    bump(s.viaQr ? 'human_qr' : 'human_direct')
    if (s.checkoutView) bump('checkout_views')
    if (s.visitorHash) {
      const day = utcDay(s.scannedAt)
      const hashes = days.get(day) ?? new Set<string>()
      hashes.add(s.visitorHash)
      days.set(day, hashes)
    }
  }
  for (const [day, hashes] of days) {
    for (const hash of hashes) {
      const isNew = sql
        .exec(
          'insert into visitors (day, hash) values (?, ?) on conflict do nothing returning 1',
          day,
          hash,
        )
        .toArray().length
      if (isNew) bump(`unique:${day}`)
    }
  }
  addCounters(sql, add)
}

export function addCounter(sql: SqlStorage, name: CounterName, by: number) {
  addCounters(sql, new Map([[name, by]]))
}

/** Adds to several counters in one statement. */
function addCounters(sql: SqlStorage, add: Map<string, number>) {
  if (!add.size) return
  sql.exec(
    `insert into counters (name, value) select key, value from json_each(?) where true
     on conflict (name) do update set value = value + excluded.value`,
    JSON.stringify(Object.fromEntries(add)),
  )
}

/** The counters as of `now` (unique visitors: today's); what waits for D1 is the flush's to say. */
export function readCounters(sql: SqlStorage, now: number): Omit<HubCounters, 'unflushed'> {
  const values = new Map<string, number>()
  const today = `unique:${utcDay(now)}`
  for (const row of sql.exec<{ name: string; value: number }>(
    `select name, value from counters where name in (${COUNTER_NAMES.map(() => '?').join(', ')}, ?)`,
    ...COUNTER_NAMES,
    today,
  )) {
    values.set(row.name, row.value)
  }
  const get = (name: CounterName) => values.get(name) ?? 0
  return {
    scans: get('scans'),
    human: get('human'),
    bot: get('bot'),
    unique_visitors_today: values.get(today) ?? 0,
    checkout_views: get('checkout_views'),
    pay_pressed: get('pay_pressed'),
    paid: get('paid'),
    human_qr: get('human_qr'),
    human_direct: get('human_direct'),
  }
}

/** Forgets the visitors, and the unique-visitor counts, of the days before `now`'s. */
export function forgetPastDays(sql: SqlStorage, now: number) {
  sql.exec('delete from visitors where day < ?', utcDay(now))
  sql.exec("delete from counters where name like 'unique:%' and name < ?", `unique:${utcDay(now)}`)
}
