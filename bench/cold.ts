/**
 * A cold isolate's first requests. Each run starts a fresh workerd (a new process: a new isolate
 * that has compiled only what the Worker's startup compiles) and sends, one at a time, its first
 * scan of a code no cache has seen, the same scan again, and its first API request
 * (`/openapi.json`: the full app's chunk, zod and the OpenAPI document). The bare baseline gets a
 * fresh workerd too, and its first and second request. App and baseline alternate; the figures are
 * medians. The app's D1 and Durable Objects persist in one directory across its starts, migrated
 * and seeded once, so each run reads a code from D1 as a cold scan does.
 */
import { join } from 'node:path'
import { MOBILE_UA } from './measure'
import {
  type AppConfig,
  applyMigrations,
  BENCH_VARS,
  d1Of,
  type Running,
  seed,
  startWorker,
} from './workerd'

export interface ColdRequests {
  runs: number
  /** ms, one value per run */
  app: { firstScan: number[]; secondScan: number[]; firstApi: number[] }
  baseline: { first: number[]; second: number[] }
}

export async function coldRequests(options: {
  app: string
  baseline: string
  config: AppConfig
  runs: number
  dir: string
}): Promise<ColdRequests> {
  const { config, runs } = options
  const persist = join(options.dir, 'state')
  const runtime = {
    compatibilityDate: config.runtimeCompatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
  }
  const startApp = () =>
    startWorker({
      scriptPath: options.app,
      ...runtime,
      workerOptions: {
        ...config.workerOptions,
        d1Persist: persist,
        durableObjectsPersist: persist,
      },
      vars: BENCH_VARS,
    })
  const slugs = Array.from({ length: runs }, (_, i) => `cold-${i}`)
  const seeding = await startApp()
  try {
    const db = await d1Of(seeding, config.d1Binding)
    await applyMigrations(db, config.migrationsDir)
    await seed(db, { redirects: slugs, checkouts: [], spread: 0 })
  } finally {
    await seeding.dispose()
  }

  const timed = async (running: Running, path: string) => {
    const at = performance.now()
    const response = await fetch(new URL(path, running.url), {
      redirect: 'manual',
      headers: { 'user-agent': MOBILE_UA },
    })
    await response.arrayBuffer()
    if (response.status >= 400) throw new Error(`cold ${path}: ${response.status}`)
    return performance.now() - at
  }
  const result: ColdRequests = {
    runs,
    app: { firstScan: [], secondScan: [], firstApi: [] },
    baseline: { first: [], second: [] },
  }
  for (const slug of slugs) {
    const app = await startApp()
    try {
      result.app.firstScan.push(await timed(app, `/${slug}`))
      result.app.secondScan.push(await timed(app, `/${slug}`))
      result.app.firstApi.push(await timed(app, '/openapi.json'))
    } finally {
      await app.dispose()
    }
    const baseline = await startWorker({ scriptPath: options.baseline, ...runtime })
    try {
      result.baseline.first.push(await timed(baseline, '/'))
      result.baseline.second.push(await timed(baseline, '/'))
    } finally {
      await baseline.dispose()
    }
  }
  return result
}
