/**
 * `npm run bench:startup`: the startup part of the bench alone — the app's and the bare
 * baseline's upload, `wrangler check startup` on each (`STARTUP_RUNS`, default 5, alternating),
 * the median non-idle samples, and where the app's samples go (by package or src/ file).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  bundle,
  bundleSourceMaps,
  nominalInterval,
  startupProfile,
  uploadBundle,
  writeBaselineConfig,
} from './build'
import { median } from './report'
import { readAppConfig } from './workerd'

const RUNS = Number(process.env.STARTUP_RUNS ?? 5)
const tmp = mkdtempSync(join(tmpdir(), 'qrcheckout-startup-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
const config = readAppConfig(join(import.meta.dirname, '..', 'wrangler.toml'))
const app = bundle({ config: config.configPath, outdir: join(tmp, 'app') })
const baselineConfig = writeBaselineConfig(join(tmp, 'baseline.wrangler.json'), config)
const appUpload = uploadBundle(config.configPath, join(tmp, 'app.bundle'))
const baselineUpload = uploadBundle(baselineConfig, join(tmp, 'baseline.bundle'))
const appMaps = bundleSourceMaps(app)
const runs = {
  app: [] as number[],
  baseline: [] as number[],
  gaps: [] as number[],
  compile: { app: [] as number[], baseline: [] as number[] },
}
const byOrigin: Record<string, number> = {}
for (let i = 0; i < RUNS; i++) {
  const a = startupProfile(appUpload, join(tmp, `app-${i}.cpuprofile`), appMaps)
  const b = startupProfile(baselineUpload, join(tmp, `baseline-${i}.cpuprofile`))
  runs.app.push(a.nonIdleSamples)
  runs.baseline.push(b.nonIdleSamples)
  runs.gaps.push(...a.gapsMs, ...b.gapsMs)
  runs.compile.app.push(a.compileMs)
  runs.compile.baseline.push(b.compileMs)
  for (const [k, v] of Object.entries(a.byOrigin)) byOrigin[k] = (byOrigin[k] ?? 0) + v / RUNS
}
const interval = nominalInterval(runs.gaps)
console.log(
  `bundle: ${(app.gzipBytes / 1024).toFixed(1)} KiB gzip (${(app.bytes / 1024).toFixed(0)} KiB)`,
)
console.log(`non-idle samples, app: ${runs.app.join(' ')}; baseline: ${runs.baseline.join(' ')}`)
console.log(
  `startup ≈ ${(median(runs.app) * interval).toFixed(1)} ms vs ${(median(runs.baseline) * interval).toFixed(1)} ms (interval ${interval.toFixed(2)} ms)`,
)
console.log(
  `module compilation (before the first sample) ≈ ${median(runs.compile.app).toFixed(1)} ms vs ${median(runs.compile.baseline).toFixed(1)} ms`,
)
for (const [k, v] of Object.entries(byOrigin)
  .sort((x, y) => y[1] - x[1])
  .slice(0, 15)) {
  console.log(`${v.toFixed(2).padStart(7)} ms  ${k}`)
}
