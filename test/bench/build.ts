/**
 * Bundles and startup profiles, all through wrangler itself so the bench measures what
 * `wrangler deploy` would upload: `wrangler deploy --dry-run --outdir` for the bundles,
 * `wrangler check startup` for startup CPU.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const ROOT = join(import.meta.dirname, '..', '..')
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
}

/** `wrangler deploy --dry-run --outdir`: the exact bundle that would be uploaded. */
export function bundle(options: { config: string; outdir: string; entry?: string }): Bundle {
  const args = ['deploy', '--dry-run', '--outdir', options.outdir, '--config', options.config]
  if (options.entry) args.push(options.entry)
  wrangler(args)
  const modules = readdirSync(options.outdir).filter(
    (f) =>
      /\.(m?js|cjs|wasm|txt|html|bin|sql)$/.test(f) && statSync(join(options.outdir, f)).isFile(),
  )
  const main = modules.find((f) => /^index\.m?js$/.test(f)) ?? modules[0]
  if (!main) throw new Error(`no module written to ${options.outdir}`)
  const contents = Buffer.concat(modules.map((f) => readFileSync(join(options.outdir, f))))
  return {
    dir: options.outdir,
    main: join(options.outdir, main),
    bytes: contents.length,
    gzipBytes: gzipSync(contents).length,
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
 * One `wrangler check startup` of a prebuilt upload: its startup profiled in workerd. `sourceMap`
 * (the same build's .map from `bundle()`) attributes each sample's self time to a package.
 */
export function startupProfile(
  upload: string,
  outfile: string,
  sourceMap?: string,
): StartupProfile {
  wrangler(['check', 'startup', '--worker', upload, '--outfile', outfile])
  const profile = JSON.parse(readFileSync(outfile, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const lookup = sourceMap ? sourceMapLookup(sourceMap) : undefined
  // wrangler's summary (summarizeStartupProfile in its cli.js) for `activeMs`, plus the counts.
  let sampled = 0
  let idle = 0
  let gc = 0
  let nonIdle = 0
  const deltas = profile.timeDeltas ?? []
  const samples = profile.samples ?? []
  const interval = nominalInterval(deltas)
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
      if (frame.url.endsWith('.js') && !frame.url.startsWith('node')) {
        const column = tick.line === frame.lineNumber + 1 ? frame.columnNumber : 0
        origin = lookup?.(tick.line - 1, column) ?? '(bundle top level)'
      }
      byOrigin[origin] = (byOrigin[origin] ?? 0) + (ms * tick.ticks) / total
    }
  }
  return {
    nonIdleSamples: nonIdle,
    activeMs: (sampled - idle) / 1000,
    gcMs: gc / 1000,
    samples: samples.length,
    intervalMs: interval / 1000,
    gapsMs: deltas.map((d) => d / 1000),
    byOrigin,
  }
}

/**
 * The profiler's nominal interval from gaps between samples (any unit): it shows as the
 * shortest gaps (the first gaps of a startup profile are much longer), so the median of the gaps
 * within 1.5× of the shortest. Pool the gaps of several short profiles: each has only a few.
 */
export function nominalInterval(deltas: number[]): number {
  const positive = deltas.filter((d) => d > 0)
  const shortest = Math.min(...positive)
  const regular = positive.filter((d) => d <= shortest * 1.5).sort((a, b) => a - b)
  return regular[Math.floor(regular.length / 2)] ?? 0
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** (0-based line, column) of the bundle → "package" or "src/file", from a v3 source map. */
export function sourceMapLookup(
  path: string,
): (line: number, column: number) => string | undefined {
  const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[]; mappings: string }
  const lines: [number, number][][] = [] // per generated line: [column, source index]
  let source = 0
  for (const text of map.mappings.split(';')) {
    const segments: [number, number][] = []
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
      if (values.length >= 4) {
        source += values[1] ?? 0
        segments.push([column, source])
      }
      // values[2] and [3] (original line and column) are not needed here, but the source index
      // above is relative across the whole file, so every segment's deltas must still be read.
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
    if (!file) return undefined
    const nm = file.lastIndexOf('node_modules/')
    if (nm >= 0) {
      const parts = file.slice(nm + 'node_modules/'.length).split('/')
      // drizzle-orm ships maps pointing at its own ../src, which land here as node_modules/src.
      if (parts[0] === 'src') return 'drizzle-orm'
      return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file)
    }
    const src = file.lastIndexOf('src/')
    return src >= 0 ? file.slice(src) : file.replace(/^(\.\.\/)+/, '')
  }
}

/** A wrangler config for the baseline: its own entry, the app's compatibility and build settings. */
export function writeBaselineConfig(
  path: string,
  app: { compatibilityDate: string; compatibilityFlags: string[]; minify: boolean },
): string {
  const config = {
    name: 'qrcheckout-bench-baseline',
    main: join(ROOT, 'test', 'bench', 'baseline.ts'),
    compatibility_date: app.compatibilityDate,
    compatibility_flags: app.compatibilityFlags,
    minify: app.minify,
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
  main: string,
  durableObjectClasses: string[],
  names: { d1: string[]; durableObjects: string[]; kv: string[] },
): string {
  const app = JSON.stringify(main)
  const instrument = JSON.stringify(join(ROOT, 'test', 'bench', 'instrument.ts'))
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
