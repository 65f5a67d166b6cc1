/**
 * `npm run bench:profile`: a V8 CPU profile of workerd while it serves one scenario, to see where
 * a scan's CPU goes. Builds the app like the bench, runs it in miniflare with the inspector on,
 * drives `GET /{slug}` of one warm redirect code (or `PROFILE_PATH`) for `PROFILE_SECONDS`, and
 * prints self time per function and per source (package or src/ file), mapped through the
 * bundle's source map. First, without the profiler, it prints throughput, p99 and workerd CPU per
 * request against the bare baseline (`PROFILE=0` stops there). The Worker and its Durable Objects share one isolate, so the hub's work is
 * in the same profile; local D1 runs in miniflare's own isolate and shows up only as the time the
 * process spent outside the profiled isolate.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bundle, bundleSourceMaps, type CpuProfile, writeBaselineConfig } from './build'
import { load } from './load'
import { MOBILE_UA } from './measure'
import { median } from './report'
import {
  applyMigrations,
  BENCH_VARS,
  cpuMeter,
  d1Of,
  readAppConfig,
  seed,
  startWorker,
  waitForScans,
  waitIdle,
} from './workerd'

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 5)
const PATH = process.env.PROFILE_PATH ?? '/bench-warm'
const INSPECTOR_PORT = 9339

const tmp = mkdtempSync(join(tmpdir(), 'qrcheckout-profile-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
const config = readAppConfig(join(import.meta.dirname, '..', 'wrangler.toml'))
const built = bundle({ config: config.configPath, outdir: join(tmp, 'app') })
const baselineConfig = writeBaselineConfig(join(tmp, 'baseline.wrangler.json'), config)
const baseline = await startWorker({
  scriptPath: bundle({ config: baselineConfig, outdir: join(tmp, 'baseline') }).main,
  compatibilityDate: config.runtimeCompatibilityDate,
  compatibilityFlags: config.compatibilityFlags,
})
const app = await startWorker({
  scriptPath: built.main,
  compatibilityDate: config.runtimeCompatibilityDate,
  compatibilityFlags: config.compatibilityFlags,
  workerOptions: config.workerOptions,
  vars: BENCH_VARS,
  inspectorPort: INSPECTOR_PORT,
})
const db = await d1Of(app, config.d1Binding)
await applyMigrations(db, config.migrationsDir)
await seed(db, { redirects: ['bench-warm'], checkouts: ['bench-pay'], spread: 0 })
const SCAN_PATHS = ['/bench-warm', '/bench-pay']

const headers = { 'user-agent': MOBILE_UA, 'accept-language': 'en-US,en;q=0.9' }
let sentToApp = 0
const run = async (amount: number, running = app) => {
  const result = await load({
    origin: running.url,
    connections: 10,
    amount,
    headers,
    path: () => PATH,
  })
  if (running === app) sentToApp += result.requests
  return result
}
/**
 * Every scan answered must reach D1 exactly once, or the figures mean nothing. Only the seeded
 * codes' paths are scans: another `PROFILE_PATH` (`/health`, an asset) records nothing.
 */
const checkRecorded = async () => {
  if (!SCAN_PATHS.includes(PATH)) return
  const { count } = await waitForScans(db, { expected: sentToApp })
  console.log(
    `scans recorded in D1: ${count} of ${sentToApp} answered${count === sentToApp ? '' : ' — MISMATCH'}`,
  )
}

/** Unprofiled: throughput, p99 and workerd CPU per request, app against the bare baseline. */
const plain = async (running: typeof app) => {
  const warm = await run(2_000, running)
  await waitIdle(running.pid)
  const meter = cpuMeter(running.pid)
  meter.start()
  const result = await run(Math.round(warm.rps * SECONDS), running)
  const cpu = meter.stop().serverMs / result.requests
  await waitIdle(running.pid)
  const perSecond = (x: number) => x / (result.elapsedMs / 1000)
  return {
    rps: result.rps,
    p99: result.p99,
    cpuUs: cpu * 1000,
    over4PerS: perSecond(result.pauses.over4),
    over8PerS: perSecond(result.pauses.over8),
    over16PerS: perSecond(result.pauses.over16),
    pausedMsPerS: perSecond(result.pauses.totalMs),
  }
}
/** Alternating runs (`PROFILE_RUNS`, default 3), medians: this shared machine drifts. */
const RUNS = Number(process.env.PROFILE_RUNS ?? 3)
type Plain = Awaited<ReturnType<typeof plain>>
const results: { base: Plain[]; ours: Plain[] } = { base: [], ours: [] }
for (let i = 0; i < RUNS; i++) {
  results.base.push(await plain(baseline))
  results.ours.push(await plain(app))
}
const summary = (rs: Plain[]) => ({
  rps: median(rs.map((r) => r.rps)),
  p99: median(rs.map((r) => r.p99)),
  cpuUs: median(rs.map((r) => r.cpuUs)),
  over4PerS: median(rs.map((r) => r.over4PerS)),
  over8PerS: median(rs.map((r) => r.over8PerS)),
  over16PerS: median(rs.map((r) => r.over16PerS)),
  pausedMsPerS: median(rs.map((r) => r.pausedMsPerS)),
})
const base = summary(results.base)
const ours = summary(results.ours)
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
const pauses = (r: typeof base) =>
  `pauses with no response, per second: ${r.over4PerS.toFixed(1)} over 4 ms, ${r.over8PerS.toFixed(1)} over 8, ${r.over16PerS.toFixed(1)} over 16; ${r.pausedMsPerS.toFixed(0)} ms paused`
console.log(`medians of ${RUNS} alternating runs of ${SECONDS} s`)
console.log(
  `baseline: ${Math.round(base.rps)} req/s, p99 ${base.p99.toFixed(2)} ms, ${base.cpuUs.toFixed(0)} µs CPU/request`,
)
console.log(
  `${PATH}: ${Math.round(ours.rps)} req/s (${ratio(ours.rps, base.rps)}), p99 ${ours.p99.toFixed(2)} ms (${ratio(ours.p99, base.p99)}), ${ours.cpuUs.toFixed(0)} µs CPU/request (${ratio(ours.cpuUs, base.cpuUs)})`,
)
console.log(`  baseline ${pauses(base)}\n  ${PATH} ${pauses(ours)}`)
await checkRecorded()
if (process.env.PROFILE === '0') {
  await Promise.all([app.dispose(), baseline.dispose()])
  process.exit(0)
}
const warm = await run(2_000)
await waitIdle(app.pid)

/** A CPU profiler on one isolate, over the inspector's WebSocket (Chrome DevTools protocol). */
async function profiler(url: string) {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = reject
  })
  let nextId = 1
  const pending = new Map<number, (result: unknown) => void>()
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result)
  }
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++
      pending.set(id, resolve as (r: unknown) => void)
      ws.send(JSON.stringify({ id, method, params }))
    })
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 100 })
  return {
    start: () => send('Profiler.start'),
    async stop() {
      const { profile } = await send<{ profile: Required<CpuProfile> }>('Profiler.stop')
      ws.close()
      return profile
    },
  }
}

/**
 * One isolate at a time (profilers on several isolates of the one workerd thread each see the
 * others' work): the app's (`core:user:…`, with its Durable Objects) by default, or
 * `PROFILE_TARGET=d1` (local D1), `core:entry` (miniflare's entry worker), …
 */
const targets = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json()) as {
  id: string
  webSocketDebuggerUrl: string
}[]
const wanted = process.env.PROFILE_TARGET ?? 'core:user:'
const target = targets.find((t) => t.id.startsWith(wanted))
if (!target)
  throw new Error(`no inspector target ${wanted}: ${targets.map((t) => t.id).join(', ')}`)
const session = await profiler(target.webSocketDebuggerUrl)
const meter = cpuMeter(app.pid)
meter.start()
await session.start()
const measured = await run(Math.round(warm.rps * SECONDS))
await waitIdle(app.pid)
const profile = await session.stop()
const used = meter.stop()

const nonIdleMs = (profile: Required<CpuProfile>) => {
  const idle = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  )
  let ms = 0
  profile.samples.forEach((id, i) => {
    if (!idle.has(id)) ms += (profile.timeDeltas[i] ?? 0) / 1000
  })
  return ms
}
const lookup = bundleSourceMaps(built)
const selfMs = new Map<number, number>()
profile.samples.forEach((id, i) => {
  selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
})
const byFunction = new Map<string, number>()
const bySource = new Map<string, number>()
for (const node of profile.nodes) {
  const ms = selfMs.get(node.id) ?? 0
  const name = node.callFrame.functionName || '(anonymous)'
  if (name === '(idle)') continue
  const frame = node.callFrame
  // A bundle function: where its source is (the bundle's names are minified); else the runtime's.
  const position = name.startsWith('(')
    ? undefined
    : lookup(frame.url, frame.lineNumber, frame.columnNumber)
  const source = name.startsWith('(') ? name : (position?.origin ?? `runtime ${frame.url}`)
  const fn = position ? position.at : `${name}  ${source}:${frame.lineNumber + 1}`
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms)
  bySource.set(source, (bySource.get(source) ?? 0) + ms)
}
const perRequest = (ms: number) => (ms / measured.requests) * 1000
const top = (m: Map<string, number>, n: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${perRequest(v).toFixed(1).padStart(7)} µs  ${k}`)
    .join('\n')

console.log(
  `\nprofiled run: workerd process CPU ${perRequest(used.serverMs).toFixed(1)} µs/request (the profiler's own cost included)`,
)
console.log(`${target.id}, non-idle: ${perRequest(nonIdleMs(profile)).toFixed(1)} µs/request`)
console.log(`\nby source (self time per request)\n${top(bySource, 25)}`)
console.log(`\nby function\n${top(byFunction, 40)}`)
await Promise.all([app.dispose(), baseline.dispose()])
