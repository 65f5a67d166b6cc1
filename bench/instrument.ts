/**
 * Bench-only: counts the storage calls the app really makes. `npm run bench` bundles a second copy
 * of the app whose entry wraps the default export and every Durable Object class named in
 * wrangler.toml with this module (see `instrumentedEntry` in build.ts); the measured load runs use
 * the plain bundle, never this one.
 *
 * - Each D1 binding, Durable Object namespace and KV namespace named in the config is replaced in
 *   `env` by a proxy that counts calls before forwarding them: D1 statements (read or write, alone
 *   or inside a batch) and round trips; calls on Durable Object stubs (fetch or RPC); KV calls. The
 *   `env` of the Durable Objects is wrapped too, so their own D1 writes (a hub flushing scans)
 *   are counted, under `hub`.
 * - The Cache API is counted by patching `caches.default`'s prototype (match, hits, put, delete).
 * - `ctx.waitUntil` is wrapped to know when background work has drained.
 * - A probe request (`x-bench-probe: 1`, sent one at a time) records which calls were issued
 *   before the handler returned its response and which of those had completed by then. With
 *   `x-bench-delay-ms: N` calls are held N ms before they are forwarded (only one kind with
 *   `x-bench-delay-only: d1|hub|kv|cache`), so a call of the delayed kind that the response did
 *   not wait for cannot have completed when it is returned: "completed before the response" then
 *   means "the response waited for it" (blocking), independently of microtask ordering. Delaying
 *   one kind at a time keeps a background call from completing early because the handler was
 *   itself waiting on another delayed call.
 * - `GET /__bench/stats` returns the counters; `POST /__bench/reset` zeroes them.
 * - `POST /__bench/mode?skipWrites=1` (diagnosis only) counts writing D1 statements without
 *   sending them, to separate the cost of local D1 writes from the rest of a scan.
 *   `?hubDiscards=1` goes further: a Durable Object's `recordScans` answers at once and stores
 *   nothing (no storage, no flush, no D1), as if most of the hub's work ran elsewhere, as it does
 *   on Cloudflare (the call still reaches the object, which deserialises the batch).
 *   The Worker's side of recording (the scan built, hashed, batched and sent) is unchanged.
 *
 * Types are structural on purpose: this file is type-checked with the bench's Node settings.
 */

export interface OpCounters {
  /** Round trips to D1: a statement run on its own, a batch, or an exec. */
  d1Calls: number
  /** Round trips that carried at least one writing statement. */
  d1WriteCalls: number
  /** Batches (each is also one round trip). */
  d1Batches: number
  /** Reading statements, alone or inside a batch. */
  d1Reads: number
  /** Writing statements (insert, update, delete, DDL), alone or inside a batch. */
  d1Writes: number
  /** Calls on a Durable Object stub: fetch or any RPC method. */
  hubCalls: number
  kvCalls: number
  cacheMatches: number
  cacheHits: number
  cachePuts: number
  cacheDeletes: number
}

type Origin = 'worker' | 'hub'

export interface BindingNames {
  d1: string[]
  durableObjects: string[]
  kv: string[]
}

interface OpRecord {
  origin: Origin
  what: string
  kinds: Partial<OpCounters>
  settled: boolean
}

type Kind = 'd1' | 'hub' | 'kv' | 'cache'

interface ProbeState {
  delayMs: number
  /** Delay only this kind of call (all kinds when null). */
  delayOnly: Kind | null
  responded: boolean
  status: number
  ops: OpRecord[]
  issued: OpCounters
  completed: OpCounters
}

export interface BenchStats {
  totals: Record<Origin, OpCounters>
  pendingCalls: number
  pendingWaitUntil: number
  cacheInstrumented: boolean
  lastProbe: Omit<ProbeState, 'ops'> & { ops: { origin: Origin; what: string; settled: boolean }[] }
}

type Fn = (...args: unknown[]) => unknown
type Obj = Record<PropertyKey, unknown>

function zero(): OpCounters {
  return {
    d1Calls: 0,
    d1WriteCalls: 0,
    d1Batches: 0,
    d1Reads: 0,
    d1Writes: 0,
    hubCalls: 0,
    kvCalls: 0,
    cacheMatches: 0,
    cacheHits: 0,
    cachePuts: 0,
    cacheDeletes: 0,
  }
}

function add(into: OpCounters, kinds: Partial<OpCounters>) {
  for (const [k, v] of Object.entries(kinds)) into[k as keyof OpCounters] += v ?? 0
}

let totals: Record<Origin, OpCounters> = { worker: zero(), hub: zero() }
let pendingCalls = 0
let pendingWaitUntil = 0
let probe: ProbeState | null = null
let cacheInstrumented = false
/** Diagnosis only (`POST /__bench/mode?skipWrites=1`): writing statements are counted, not sent. */
let skipWrites = false
/** Diagnosis only (`POST /__bench/mode?hubDiscards=1`): hubs answer scan batches without work. */
let hubDiscards = false
const SKIPPED = { success: true, results: [], meta: { changes: 0, duration: 0 } }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Counts a call when it is issued, holds it for the probe's delay, then forwards it. */
async function op<T>(
  origin: Origin,
  what: string,
  kinds: Partial<OpCounters>,
  run: () => Promise<T> | T,
): Promise<T> {
  add(totals[origin], kinds)
  const current = probe
  let record: OpRecord | undefined
  if (current && !current.responded) {
    record = { origin, what, kinds: { ...kinds }, settled: false }
    current.ops.push(record)
  }
  pendingCalls++
  try {
    if (
      current &&
      current.delayMs > 0 &&
      (!current.delayOnly || current.delayOnly === kindOf(kinds))
    ) {
      await sleep(current.delayMs)
    }
    return await run()
  } finally {
    pendingCalls--
    if (record) record.settled = true
  }
}

function kindOf(kinds: Partial<OpCounters>): Kind {
  if (kinds.d1Calls) return 'd1'
  if (kinds.hubCalls) return 'hub'
  if (kinds.kvCalls) return 'kv'
  return 'cache'
}

const WRITE = /^\s*(insert|update|delete|replace|create|drop|alter|pragma\s+\w+\s*=)/i

function isWrite(sql: string): boolean {
  if (WRITE.test(sql)) return true
  // A CTE may end in a write: WITH … INSERT/UPDATE/DELETE.
  return /^\s*with\b/i.test(sql) && /\b(insert|update|delete|replace)\b/i.test(sql)
}

function statementKinds(sqls: string[], batch: boolean): Partial<OpCounters> {
  const writes = sqls.filter(isWrite).length
  return {
    d1Calls: 1,
    d1Batches: batch ? 1 : 0,
    d1WriteCalls: writes > 0 ? 1 : 0,
    d1Writes: writes,
    d1Reads: sqls.length - writes,
  }
}

const REAL = Symbol('bench.real')
const SQL = Symbol('bench.sql')

function wrapStatement(real: Obj, sql: string, origin: Origin): Obj {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === REAL) return target
      if (prop === SQL) return sql
      const value = target[prop]
      if (typeof value !== 'function') return value
      if (prop === 'bind') {
        return (...args: unknown[]) =>
          wrapStatement(Reflect.apply(value as Fn, target, args) as Obj, sql, origin)
      }
      if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
        return (...args: unknown[]) =>
          op(origin, `d1.${String(prop)} ${sql.slice(0, 60)}`, statementKinds([sql], false), () =>
            skipWrites && isWrite(sql)
              ? prop === 'raw'
                ? []
                : prop === 'first'
                  ? null
                  : SKIPPED
              : Reflect.apply(value as Fn, target, args),
          )
      }
      return (value as Fn).bind(target)
    },
  })
}

function wrapD1(real: Obj, origin: Origin): Obj {
  return new Proxy(real, {
    get(target, prop) {
      const value = target[prop]
      if (typeof value !== 'function') return value
      if (prop === 'prepare') {
        return (sql: string) =>
          wrapStatement(Reflect.apply(value as Fn, target, [sql]) as Obj, sql, origin)
      }
      if (prop === 'batch') {
        return (statements: Obj[], ...rest: unknown[]) => {
          const sqls = statements.map((s) => String(s[SQL] ?? ''))
          const reals = statements.map((s) => (s[REAL] as Obj | undefined) ?? s)
          return op(origin, `d1.batch(${sqls.length})`, statementKinds(sqls, true), () =>
            skipWrites && sqls.every(isWrite)
              ? sqls.map(() => SKIPPED)
              : Reflect.apply(value as Fn, target, [reals, ...rest]),
          )
        }
      }
      if (prop === 'exec') {
        return (sql: string) => {
          const sqls = sql.split(/;\s*\n/).filter((s) => s.trim())
          return op(origin, 'd1.exec', statementKinds(sqls, false), () =>
            Reflect.apply(value as Fn, target, [sql]),
          )
        }
      }
      if (prop === 'withSession') {
        return (...args: unknown[]) =>
          wrapD1(Reflect.apply(value as Fn, target, args) as Obj, origin)
      }
      return (value as Fn).bind(target)
    },
  })
}

function wrapStub(real: Obj, origin: Origin, label: string): Obj {
  return new Proxy(real, {
    get(target, prop) {
      const value = target[prop]
      // Reflect.apply, never value.apply: on an RPC stub `apply` would be a remote method name.
      if (typeof value !== 'function' || typeof prop === 'symbol' || prop === 'then') return value
      return (...args: unknown[]) =>
        op(origin, `${label}.${prop}`, { hubCalls: 1 }, () =>
          Reflect.apply(value as Fn, target, args),
        )
    },
  })
}

function wrapNamespace(real: Obj, origin: Origin, label: string): Obj {
  return new Proxy(real, {
    get(target, prop) {
      const value = target[prop]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = Reflect.apply(value as Fn, target, args) as Obj | undefined
        if (result && typeof result === 'object') {
          if (prop === 'jurisdiction') return wrapNamespace(result, origin, label)
          if (prop === 'get' || prop === 'getByName' || prop === 'getExisting') {
            return wrapStub(result, origin, label)
          }
        }
        return result
      }
    },
  })
}

function wrapKv(real: Obj, origin: Origin, label: string): Obj {
  return new Proxy(real, {
    get(target, prop) {
      const value = target[prop]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) =>
        op(origin, `${label}.${String(prop)}`, { kvCalls: 1 }, () =>
          Reflect.apply(value as Fn, target, args),
        )
    },
  })
}

const wrappedEnvs: Record<Origin, WeakMap<object, Obj>> = {
  worker: new WeakMap(),
  hub: new WeakMap(),
}

function wrapEnv(env: Obj, origin: Origin, names: BindingNames): Obj {
  const cached = wrappedEnvs[origin].get(env)
  if (cached) return cached
  const out: Obj = { ...env }
  for (const name of names.d1) if (env[name]) out[name] = wrapD1(env[name] as Obj, origin)
  for (const name of names.durableObjects) {
    if (env[name]) out[name] = wrapNamespace(env[name] as Obj, origin, name)
  }
  for (const name of names.kv) if (env[name]) out[name] = wrapKv(env[name] as Obj, origin, name)
  wrappedEnvs[origin].set(env, out)
  return out
}

function patchCacheApi() {
  if (cacheInstrumented) return
  const storage = (globalThis as unknown as { caches?: { default?: object } }).caches
  const cache = storage?.default
  if (!cache) return
  const proto = Object.getPrototypeOf(cache) as Obj
  const kinds: Record<string, Partial<OpCounters>> = {
    match: { cacheMatches: 1 },
    put: { cachePuts: 1 },
    delete: { cacheDeletes: 1 },
  }
  try {
    for (const [name, k] of Object.entries(kinds)) {
      const original = proto[name] as Fn
      proto[name] = function (this: unknown, ...args: unknown[]) {
        return op('worker', `cache.${name}`, k, async () => {
          const result = await Reflect.apply(original, this, args)
          if (name === 'match' && result) {
            totals.worker.cacheHits++
            if (probe && !probe.responded) probe.issued.cacheHits++
          }
          return result
        })
      }
    }
    cacheInstrumented = true
  } catch {
    // Not patchable in this runtime: cache counts stay at zero and stats say so.
  }
}

function wrapCtx(ctx: Obj): Obj {
  return new Proxy(ctx, {
    get(target, prop) {
      const value = target[prop]
      if (prop === 'waitUntil') {
        return (promise: Promise<unknown>) => {
          pendingWaitUntil++
          const tracked = Promise.resolve(promise).finally(() => {
            pendingWaitUntil--
          })
          return Reflect.apply(value as Fn, target, [tracked])
        }
      }
      return typeof value === 'function' ? (value as Fn).bind(target) : value
    },
  })
}

function stats(): BenchStats {
  const last = probe ?? {
    delayMs: 0,
    delayOnly: null,
    responded: false,
    status: 0,
    ops: [],
    issued: zero(),
    completed: zero(),
  }
  return {
    totals,
    pendingCalls,
    pendingWaitUntil,
    cacheInstrumented,
    lastProbe: {
      ...last,
      ops: last.ops.map((o) => ({ origin: o.origin, what: o.what, settled: o.settled })),
    },
  }
}

interface FetchHandler {
  fetch: (request: Request, env: Obj, ctx: Obj) => Response | Promise<Response>
}

/** Wraps the app's default export (an object with `fetch`, like a Hono app). */
export function instrumentHandler(handler: FetchHandler & Obj, names: BindingNames): Obj {
  const wrapped: Obj = {
    async fetch(request: Request, env: Obj, ctx: Obj): Promise<Response> {
      patchCacheApi()
      const path = new URL(request.url).pathname
      if (path === '/__bench/stats') return Response.json(stats())
      if (path === '/__bench/mode') {
        const params = new URL(request.url).searchParams
        skipWrites = params.get('skipWrites') === '1'
        hubDiscards = params.get('hubDiscards') === '1'
        return Response.json({ skipWrites, hubDiscards })
      }
      if (path === '/__bench/reset') {
        totals = { worker: zero(), hub: zero() }
        probe = null
        return Response.json(stats())
      }
      const isProbe = request.headers.get('x-bench-probe') === '1'
      probe = isProbe
        ? {
            delayMs: Number(request.headers.get('x-bench-delay-ms') ?? 0),
            delayOnly: (request.headers.get('x-bench-delay-only') as Kind | null) ?? null,
            responded: false,
            status: 0,
            ops: [],
            issued: zero(),
            completed: zero(),
          }
        : null
      const current = probe
      const response = await handler.fetch(request, wrapEnv(env, 'worker', names), wrapCtx(ctx))
      if (current) {
        current.responded = true
        current.status = response.status
        for (const o of current.ops) {
          add(current.issued, o.kinds)
          if (o.settled) add(current.completed, o.kinds)
        }
      }
      return response
    },
  }
  // Other handlers (scheduled, queue, …) see the same wrapped env.
  for (const name of ['scheduled', 'queue', 'tail', 'email']) {
    const h = handler[name]
    if (typeof h === 'function') {
      wrapped[name] = (event: unknown, env: Obj, ctx: Obj) =>
        Reflect.apply(h as Fn, handler, [event, wrapEnv(env, 'worker', names), ctx])
    }
  }
  return wrapped
}

/**
 * Wraps a Durable Object class so its own `env` is counted as the hub's, and so that in the
 * `hubDiscards` diagnosis its `recordScans` answers at once (no pace: the caller keeps its default).
 */
// biome-ignore lint/suspicious/noExplicitAny: a mixin needs an any[] constructor signature.
export function instrumentClass<T extends new (...args: any[]) => object>(
  cls: T,
  names: BindingNames,
): T {
  const counted = class extends cls {
    // biome-ignore lint/suspicious/noExplicitAny: forwarded unchanged to the real constructor.
    constructor(...args: any[]) {
      if (args[1] && typeof args[1] === 'object') args[1] = wrapEnv(args[1] as Obj, 'hub', names)
      super(...args)
    }
  }
  // On the prototype: workerd's RPC calls only prototype methods, never an instance's own ones.
  const record = (cls.prototype as Obj).recordScans
  if (typeof record === 'function') {
    Object.defineProperty(counted.prototype, 'recordScans', {
      configurable: true,
      writable: true,
      value(this: object, scans: unknown[]) {
        return hubDiscards
          ? Promise.resolve({ stored: scans.length })
          : Reflect.apply(record as Fn, this, [scans])
      },
    })
  }
  return counted
}
