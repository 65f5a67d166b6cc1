/**
 * Running a bundle in workerd through the miniflare v4 API, with the bindings wrangler derives from
 * wrangler.toml (never repeated here), and the bench's D1 setup: migrations, seed, counts.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { drizzle } from 'drizzle-orm/d1'
import { Miniflare, supportedCompatibilityDate } from 'miniflare'
import {
  unstable_getMiniflareWorkerOptions,
  unstable_readConfig,
  unstable_splitSqlQuery,
} from 'wrangler'
import { createMerchant } from '../src/auth/queries'
import { CreateCode } from '../src/codes/schemas'
import { createCodeFor } from '../src/codes/service'
import type { Db } from '../src/db/client'
import * as schema from '../src/db/schema'

/** Just what the bench calls on miniflare's D1 proxy. */
export interface D1 {
  prepare(sql: string): D1Statement
  batch(statements: D1Statement[]): Promise<unknown[]>
}
interface D1Statement {
  bind(...values: unknown[]): D1Statement
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>
  first<T = Record<string, unknown>>(): Promise<T | null>
  run(): Promise<unknown>
}

export type WorkerOptions = Record<string, unknown> & {
  compatibilityDate?: string
  compatibilityFlags?: string[]
  bindings?: Record<string, unknown>
  d1Databases?: Record<string, unknown>
  durableObjects?: Record<string, string | { className?: string; scriptName?: string }>
  kvNamespaces?: Record<string, unknown>
}

export interface AppConfig {
  configPath: string
  /** The Worker's entry module (absolute). */
  main: string
  workerOptions: WorkerOptions
  compatibilityDate: string
  /** The date given to workerd: the config's, clamped to what miniflare's workerd supports. */
  runtimeCompatibilityDate: string
  compatibilityFlags: string[]
  migrationsDir: string
  d1Binding: string
  /** Durable Object classes this Worker defines itself (binding → class). */
  durableObjectClasses: string[]
  bindingNames: { d1: string[]; durableObjects: string[]; kv: string[] }
}

export function readAppConfig(configPath: string): AppConfig {
  const { workerOptions, main } = unstable_getMiniflareWorkerOptions(configPath) as unknown as {
    workerOptions: WorkerOptions
    main?: string
  }
  if (!main) throw new Error(`${configPath} has no main entry`)
  const raw = unstable_readConfig({ config: configPath }) as {
    d1_databases?: { binding: string; migrations_dir?: string }[]
  }
  const d1 = raw.d1_databases?.[0]
  if (!d1) throw new Error(`${configPath} declares no D1 database`)
  const compatibilityDate = workerOptions.compatibilityDate ?? supportedCompatibilityDate
  const objects = Object.values(workerOptions.durableObjects ?? {})
    .map((v) => (typeof v === 'string' ? { className: v } : v))
    .filter((v) => !v.scriptName && v.className)
    .map((v) => v.className as string)
  return {
    configPath,
    main,
    workerOptions,
    compatibilityDate,
    runtimeCompatibilityDate: [compatibilityDate, supportedCompatibilityDate].sort()[0] as string,
    compatibilityFlags: workerOptions.compatibilityFlags ?? [],
    migrationsDir: join(dirname(configPath), d1.migrations_dir ?? 'migrations'),
    d1Binding: d1.binding,
    durableObjectClasses: [...new Set(objects)],
    bindingNames: {
      d1: Object.keys(workerOptions.d1Databases ?? {}),
      durableObjects: Object.keys(workerOptions.durableObjects ?? {}),
      kv: Object.keys(workerOptions.kvNamespaces ?? {}),
    },
  }
}

export interface Running {
  mf: Miniflare
  url: URL
  /** The workerd process serving this instance (for CPU accounting), if found. */
  pid: number | undefined
  /** Lines the Worker wrote to stdout/stderr (console.error of failed scans, crashes). */
  logs: string[]
  dispose(): Promise<void>
}

/**
 * What every local run of the app's bundle gets over wrangler.toml's vars: it ships
 * ENVIRONMENT = "production" so a deploy fails closed, and a run here is a local one (`vars` may
 * still say otherwise).
 */
export const LOCAL_VARS = { ENVIRONMENT: 'development' }

/** Vars that make the bench production-like and deterministic (see README "Performance"). */
export const BENCH_VARS = {
  PUBLIC_BASE_URL: 'https://qr.example.com',
  VISITOR_HASH_SECRET: 'bench-visitor-secret',
}

export async function startWorker(options: {
  scriptPath: string
  compatibilityDate: string
  compatibilityFlags: string[]
  /** Bindings from the app's config; omitted for the baseline. */
  workerOptions?: WorkerOptions
  vars?: Record<string, string>
  /** Opens workerd's inspector on this port (the profiler uses it). */
  inspectorPort?: number
}): Promise<Running> {
  const logs: string[] = []
  const collect = (stream: Readable) => {
    let buffered = ''
    stream.setEncoding?.('utf8')
    stream.on('data', (chunk: string) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) logs.push(line)
    })
  }
  const base = options.workerOptions ?? {}
  const mf = new Miniflare({
    ...(base as object),
    modules: true,
    scriptPath: options.scriptPath,
    modulesRoot: dirname(options.scriptPath),
    // The app's build is split into chunks that the entry imports dynamically.
    modulesRules: [
      { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
      { type: 'CommonJS', include: ['**/*.cjs'] },
    ],
    compatibilityDate: options.compatibilityDate,
    compatibilityFlags: options.compatibilityFlags,
    bindings: {
      ...(base.bindings ?? {}),
      ...(options.workerOptions ? LOCAL_VARS : {}),
      ...(options.vars ?? {}),
    },
    host: '127.0.0.1',
    port: 0,
    // A fixed request.cf so nothing is fetched from the network.
    cf: { country: 'DE', region: 'Berlin', city: 'Berlin', colo: 'TXL', asn: 64500 },
    logRequests: false,
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      collect(stdout)
      collect(stderr)
    },
  } as ConstructorParameters<typeof Miniflare>[0])
  const before = new Set(workerdChildren())
  const url = await mf.ready
  const pid = workerdChildren().find((p) => !before.has(p))
  return { mf, url, pid, logs, dispose: () => mf.dispose() }
}

export async function d1Of(running: Running, binding: string): Promise<D1> {
  return (await running.mf.getD1Database(binding)) as unknown as D1
}

/** Applies every migration file in name order, split into statements the way wrangler does. */
export async function applyMigrations(d1: D1, dir: string): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
  for (const file of files) {
    const statements = unstable_splitSqlQuery(readFileSync(join(dir, file), 'utf8'))
      .map((s) => s.trim())
      .filter(Boolean)
    await d1.batch(statements.map((s) => d1.prepare(s)))
  }
  return files
}

export interface Seeded {
  merchantId: string
  /** slug → code id */
  codes: Map<string, string>
}

/**
 * One merchant and a few codes, written with the app's own query functions (so the seed follows
 * the schema), then `spread` redirect codes cloned from a template row in one SQL statement.
 */
export async function seed(
  d1: D1,
  options: { redirects: string[]; checkouts: string[]; spread: number },
): Promise<Seeded> {
  const db = drizzle(d1 as never, { schema }) as unknown as Db
  const merchantId = await createMerchant(db, {
    name: 'Café Luna (bench)',
    displayDomain: 'cafeluna.example',
    // So the checkout page measured is the full one (it shows the domain).
    domainVerified: true,
  })
  // The app's own codes service, so the seed follows every rule a real code does.
  const codes = new Map<string, string>()
  for (const slug of options.redirects) {
    const input = { action: 'redirect', slug, destination_url: `https://example.com/menu/${slug}` }
    const code = await createCodeFor(
      db,
      merchantId,
      CreateCode.parse({ ...input, metadata: { bench: 'true' } }),
    )
    codes.set(slug, code.id)
  }
  for (const slug of options.checkouts) {
    const input = {
      action: 'checkout',
      slug,
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    }
    const code = await createCodeFor(
      db,
      merchantId,
      CreateCode.parse({ ...input, metadata: { bench: 'true' } }),
    )
    codes.set(slug, code.id)
  }
  const template = options.redirects[0]
  if (options.spread > 0 && template) {
    const columns = (await d1.prepare('PRAGMA table_info(codes)').all<{ name: string }>()).results
      .map((c) => c.name)
      .filter((c) => c !== 'rowid')
    const select = columns.map((c) =>
      c === 'id'
        ? `'code_spread' || printf('%05d', n.i)`
        : c === 'slug'
          ? spreadSlugSql
          : c === 'destination_url'
            ? `'https://example.com/menu/' || ${spreadSlugSql}`
            : `t.${c}`,
    )
    await d1
      .prepare(
        `INSERT INTO codes (${columns.join(', ')})
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         SELECT ${select.join(', ')} FROM n, codes t WHERE t.slug = ?`,
      )
      .bind(options.spread, template)
      .run()
    for (let i = 0; i < options.spread; i++) {
      codes.set(spreadSlug(i), `code_spread${String(i).padStart(5, '0')}`)
    }
  }
  return { merchantId, codes }
}

const spreadSlugSql = `'s' || printf('%05d', n.i)`
export const spreadSlug = (i: number) => `s${String(i).padStart(5, '0')}`

/** Recorded scans per code id. */
export async function scansPerCode(d1: D1): Promise<Map<string, number>> {
  const rows = await d1
    .prepare('SELECT code_id AS id, count(*) AS n FROM scans GROUP BY code_id')
    .all<{ id: string; n: number }>()
  return new Map(rows.results.map((r) => [r.id, Number(r.n)]))
}

export async function totalScans(d1: D1): Promise<number> {
  const row = await d1.prepare('SELECT count(*) AS n FROM scans').first<{ n: number }>()
  return Number(row?.n ?? 0)
}

/**
 * Waits until background work has drained: the scan count reaches `expected` (when given) and
 * stops moving for `quietMs`; or it stops moving short of it for `stallMs`; or `timeoutMs` passes.
 */
export async function waitForScans(
  d1: D1,
  options: {
    expected?: number
    quietMs?: number
    stallMs?: number
    timeoutMs?: number
    pollMs?: number
  },
): Promise<{ count: number; waitedMs: number; settled: boolean }> {
  const quietMs = options.quietMs ?? 1_000
  const stallMs = options.stallMs ?? 6_000
  const timeoutMs = options.timeoutMs ?? 30_000
  const start = Date.now()
  let last = -1
  let since = Date.now()
  for (;;) {
    const count = await totalScans(d1)
    if (count !== last) {
      last = count
      since = Date.now()
    }
    const reached = options.expected === undefined || count >= options.expected
    const quiet = Date.now() - since
    if (reached && quiet >= quietMs) {
      return { count, waitedMs: Date.now() - start, settled: true }
    }
    // Short of the expected count and not moving: a hub may still flush on a timer, so give it
    // `stallMs` before reporting what is there.
    if (quiet >= stallMs || Date.now() - start > timeoutMs) {
      return { count, waitedMs: Date.now() - start, settled: false }
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100))
  }
}

/** workerd processes started by this Node process (miniflare spawns one per instance). */
function workerdChildren(): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (Number(fields[1]) === process.pid && comm.startsWith('workerd')) out.push(Number(entry))
    } catch {
      // the process went away
    }
  }
  return out
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU ms used so far by a process (all threads), from /proc/<pid>/stat utime + stime. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000
}

export interface CpuMeter {
  start(): void
  /** CPU ms used since start: by workerd (server) and by this Node process (load generator). */
  stop(): { serverMs: number; clientMs: number }
}

export function cpuMeter(pid: number | undefined): CpuMeter {
  let server = 0
  let client = process.cpuUsage()
  return {
    start() {
      server = pid ? processCpuMs(pid) : 0
      client = process.cpuUsage()
    },
    stop() {
      const used = process.cpuUsage(client)
      return {
        serverMs: pid ? processCpuMs(pid) - server : Number.NaN,
        clientMs: (used.user + used.system) / 1000,
      }
    },
  }
}

/**
 * Waits until workerd is idle (under `maxCpuMs` of CPU in a `windowMs` window), so that work a
 * previous run left in waitUntil (D1 inserts, cache puts) does not spill into the next one.
 */
export async function waitIdle(
  pid: number | undefined,
  options: { windowMs?: number; maxCpuMs?: number; timeoutMs?: number } = {},
): Promise<number> {
  if (!pid) return 0
  const windowMs = options.windowMs ?? 250
  const maxCpuMs = options.maxCpuMs ?? windowMs * 0.1
  const start = Date.now()
  for (;;) {
    const before = processCpuMs(pid)
    await new Promise((r) => setTimeout(r, windowMs))
    if (processCpuMs(pid) - before <= maxCpuMs) return Date.now() - start
    if (Date.now() - start > (options.timeoutMs ?? 20_000)) return Date.now() - start
  }
}
