/**
 * Bundles and startup profiles, all through wrangler itself so the bench measures what
 * `wrangler deploy` would upload: `wrangler deploy --dry-run --outdir` for the bundles,
 * `wrangler check startup` for startup CPU.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { buildWorker } from '../scripts/build/index'

export const ROOT = join(import.meta.dirname, '..')
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler')

export function wrangler(args: string[]): string {
  try {
    return execFileSync(WRANGLER, args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    })
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string }
    throw new Error(`wrangler ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
}

export interface Bundle {
  dir: string
  /** The entry module, for miniflare's scriptPath. */
  main: string
  bytes: number
  /** gzip of all uploaded modules together (source maps excluded), as wrangler reports it. */
  gzipBytes: number
  /** The modules' paths relative to `dir` (`index.mjs`, `chunks/app-….mjs`). */
  modules: string[]
}

/** `wrangler deploy --dry-run --outdir`: the exact bundle that would be uploaded. */
export function bundle(options: { config: string; outdir: string }): Bundle {
  wrangler(['deploy', '--dry-run', '--outdir', options.outdir, '--config', options.config])
  return describeBundle(options.outdir)
}

/** The app's own build (scripts/build/index.ts) of another entry: the instrumented copy. */
export async function buildEntry(entry: string, outdir: string): Promise<Bundle> {
  await buildWorker({ entry, outdir })
  return describeBundle(outdir)
}

/** The modules in a build directory (chunks in subdirectories too; source maps excluded). */
function describeBundle(dir: string): Bundle {
  const modules = (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => /\.(m?js|cjs|wasm|txt|html|bin|sql)$/.test(f) && statSync(join(dir, f)).isFile())
    .sort()
  const main = modules.find((f) => /^index\.m?js$/.test(f)) ?? modules[0]
  if (!main) throw new Error(`no module written to ${dir}`)
  const contents = Buffer.concat(modules.map((f) => readFileSync(join(dir, f))))
  return {
    dir,
    main: join(dir, main),
    bytes: contents.length,
    gzipBytes: gzipSync(contents).length,
    modules,
  }
}

export interface CpuProfile {
  nodes: {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
    positionTicks?: { line: number; ticks: number }[]
  }[]
  samples?: number[]
  timeDeltas?: number[]
}

export interface StartupProfile {
  /**
   * Samples that were not idle. The profiler samples about once per `intervalMs`; startup CPU is
   * estimated as non-idle samples × a nominal interval (see run.ts). wrangler's "Active" instead
   * gives each sample the whole gap since the previous one, and the first gaps of a startup
   * profile are 5-25 ms, so a Worker that starts in about 1 ms reads as 0 or as 10 ms depending
   * on where a sample lands.
   */
  nonIdleSamples: number
  /**
   * The gap before the profile's first sample, ms: workerd compiles every uploaded module there
   * (imported or not), before any top-level code runs, so the samples never see it.
   */
  compileMs: number
  /** Sampled CPU time minus idle, ms: what wrangler prints as "Active". */
  activeMs: number
  gcMs: number
  samples: number
  /** The profiler's nominal time between samples, ms (its regular, shortest gaps). */
  intervalMs: number
  /** Every gap between samples, ms (for `nominalInterval` over several profiles). */
  gapsMs: number[]
  /** Self time (ms) by npm package or src/ file, from the bundle's source map. */
  byOrigin: Record<string, number>
}

/**
 * `wrangler deploy --dry-run --outfile`: the upload (a multipart bundle) that `check startup`
 * profiles. Built once per Worker: `check startup` itself re-runs `deploy` without passing
 * `--config` on, so without `--worker` it would always profile wrangler.toml's Worker.
 */
export function uploadBundle(config: string, outfile: string): string {
  wrangler(['deploy', '--dry-run', '--outfile', outfile, '--config', config])
  return outfile
}

/**
 * One `wrangler check startup` of a prebuilt upload: its startup profiled in workerd. `lookup`
 * (the same build's source maps, `bundleSourceMaps`) attributes each sample's self time to a
 * package or src/ file.
 */
export function startupProfile(
  upload: string,
  outfile: string,
  lookup?: SourceLookup,
): StartupProfile {
  wrangler(['check', 'startup', '--worker', upload, '--outfile', outfile])
  const profile = JSON.parse(readFileSync(outfile, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  // wrangler's summary (summarizeStartupProfile in its cli.js) for `activeMs`, plus the counts.
  let sampled = 0
  let idle = 0
  let gc = 0
  let nonIdle = 0
  const deltas = profile.timeDeltas ?? []
  const samples = profile.samples ?? []
  const interval = nominalInterval(deltas.map((d) => d / 1000)) * 1000
  const selfMs = new Map<number, number>()
  deltas.forEach((delta, i) => {
    sampled += delta
    const id = samples[i] ?? 0
    const name = nodes.get(id)?.callFrame.functionName
    if (name === '(idle)') idle += delta
    else {
      if (name === '(garbage collector)') gc += delta
      const share = Math.min(delta, interval) / 1000
      nonIdle++
      selfMs.set(id, (selfMs.get(id) ?? 0) + share)
    }
  })
  const byOrigin: Record<string, number> = {}
  for (const [id, ms] of selfMs) {
    const node = nodes.get(id)
    if (!node) continue
    const frame = node.callFrame
    const ticks = node.positionTicks?.length
      ? node.positionTicks
      : [{ line: frame.lineNumber + 1, ticks: 1 }]
    const total = ticks.reduce((t, p) => t + p.ticks, 0)
    for (const tick of ticks) {
      let origin = frame.functionName.startsWith('(') ? frame.functionName : 'runtime'
      if (/\.m?js$/.test(frame.url) && !frame.url.startsWith('node')) {
        const column = tick.line === frame.lineNumber + 1 ? frame.columnNumber : 0
        origin = lookup?.(frame.url, tick.line - 1, column)?.origin ?? '(bundle top level)'
      }
      byOrigin[origin] = (byOrigin[origin] ?? 0) + (ms * tick.ticks) / total
    }
  }
  return {
    nonIdleSamples: nonIdle,
    compileMs: (deltas[0] ?? 0) / 1000,
    activeMs: (sampled - idle) / 1000,
    gcMs: gc / 1000,
    samples: samples.length,
    intervalMs: interval / 1000,
    gapsMs: deltas.map((d) => d / 1000),
    byOrigin,
  }
}

/**
 * The profiler's nominal interval, ms, from the gaps between samples of several profiles: the
 * median of the regular gaps (under 2 ms; the first gaps of a startup profile are 5–40 ms). A
 * Worker that starts in a millisecond or two leaves no regular gaps at all: then the interval
 * measured here in longer startup profiles (1.06–1.12 ms; V8's default is 1 ms plus overhead).
 */
export const MEASURED_INTERVAL_MS = 1.1
export function nominalInterval(gapsMs: number[]): number {
  const regular = gapsMs.filter((d) => d > 0 && d < 2).sort((a, b) => a - b)
  if (regular.length < 3) return MEASURED_INTERVAL_MS
  return regular[Math.floor(regular.length / 2)] ?? MEASURED_INTERVAL_MS
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** Where a position of a bundle module comes from: "package" or "src/file", and the source line. */
export interface SourcePosition {
  origin: string
  /** `src/hub/code-hub.ts:160`, or the package's file and line. */
  at: string
}
export type SourceLookup = (url: string, line: number, column: number) => SourcePosition | undefined

/**
 * Looks positions up in the source maps of every module of a bundle: `url` is the module as the
 * runtime names it in a profile (`index.mjs`, `chunks/app-….mjs`, possibly with a prefix),
 * `line` and `column` 0-based. A module's map is beside it or — wrangler copies no maps into
 * `--outdir` when it uploads the build as it is (`no_bundle`) — in dist/, where the build wrote
 * it; a module without a map, or one whose map is of another build, is not looked up.
 */
export function bundleSourceMaps(b: Bundle): SourceLookup {
  const parsed = new Map<string, ReturnType<typeof parseSourceMap> | undefined>()
  const mapOf = (module: string) => {
    if (!parsed.has(module)) {
      const path = [join(b.dir, `${module}.map`), join(ROOT, 'dist', `${module}.map`)].find((p) =>
        existsSync(p),
      )
      const code = readFileSync(join(b.dir, module), 'utf8')
      // esbuild names the map in the module's last line; a stale dist/ map names another file.
      const current = path !== undefined && code.includes(`sourceMappingURL=${basename(path)}`)
      parsed.set(module, current ? parseSourceMap(path) : undefined)
    }
    return parsed.get(module)
  }
  return (url, line, column) => {
    const module = b.modules.find((m) => url === m || url.endsWith(`/${m}`))
    return module === undefined ? undefined : mapOf(module)?.(line, column)
  }
}

/** (0-based line, column) of one module → its origin and source line, from a v3 source map. */
function parseSourceMap(
  path: string,
): (line: number, column: number) => SourcePosition | undefined {
  const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[]; mappings: string }
  // per generated line: [column, source index, original line]
  const lines: [number, number, number][][] = []
  let source = 0
  let originalLine = 0
  for (const text of map.mappings.split(';')) {
    const segments: [number, number, number][] = []
    let column = 0
    for (const segment of text.split(',')) {
      if (!segment) continue
      const values: number[] = []
      let value = 0
      let shift = 0
      for (const ch of segment) {
        const digit = B64.indexOf(ch)
        value += (digit & 31) << shift
        if (digit & 32) shift += 5
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      column += values[0] ?? 0
      // Source index and original line are deltas across the whole file: every segment counts.
      if (values.length >= 4) {
        source += values[1] ?? 0
        originalLine += values[2] ?? 0
        segments.push([column, source, originalLine])
      }
    }
    lines.push(segments)
  }
  return (line, column) => {
    const segments = lines[line]
    if (!segments?.length) return undefined
    let found = segments[0]
    for (const s of segments) {
      if (s[0] > column) break
      found = s
    }
    const file = map.sources[found?.[1] ?? -1]
    if (!file || !found) return undefined
    return { origin: originOf(file), at: `${shortPath(file)}:${found[2] + 1}` }
  }
}

/** A source map's source path → "package" (under node_modules) or "src/file". */
function originOf(file: string): string {
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const parts = file.slice(nm + 'node_modules/'.length).split('/')
    // drizzle-orm ships maps pointing at its own ../src, which land here as node_modules/src.
    if (parts[0] === 'src') return 'drizzle-orm'
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file)
  }
  return shortPath(file)
}

function shortPath(file: string): string {
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length)
  const src = file.lastIndexOf('src/')
  return src >= 0 ? file.slice(src) : file.replace(/^(\.\.\/)+/, '')
}

/**
 * A wrangler config for the baseline: its own entry, bundled by wrangler, with the app's
 * compatibility settings, and minified as the app's build (scripts/build/index.ts) is.
 */
export function writeBaselineConfig(
  path: string,
  app: { compatibilityDate: string; compatibilityFlags: string[] },
): string {
  const config = {
    name: 'qrcheckout-bench-baseline',
    main: join(ROOT, 'bench', 'baseline.ts'),
    compatibility_date: app.compatibilityDate,
    compatibility_flags: app.compatibilityFlags,
    minify: true,
  }
  writeFileSync(path, JSON.stringify(config, null, 2))
  return path
}

/**
 * The entry of the instrumented copy: the app's module with its default export and each
 * Durable Object class from the config wrapped by instrument.ts. `export *` keeps every other
 * named export; the local exports below take precedence over it.
 */
export function writeInstrumentedEntry(
  path: string,
  /** The Worker's source entry (src/index.ts). */
  main: string,
  durableObjectClasses: string[],
  names: { d1: string[]; durableObjects: string[]; kv: string[] },
): string {
  const app = JSON.stringify(main)
  const instrument = JSON.stringify(join(ROOT, 'bench', 'instrument.ts'))
  const lines = [
    `import * as app from ${app}`,
    `import { instrumentClass, instrumentHandler } from ${instrument}`,
    `export * from ${app}`,
    `const names = ${JSON.stringify(names)}`,
    'export default instrumentHandler(app.default, names)',
    ...durableObjectClasses.map(
      (cls) => `export const ${cls} = instrumentClass(app.${cls}, names)`,
    ),
  ]
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}
