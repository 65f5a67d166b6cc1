import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { RETENTION_CRON } from '../../src/lib/crons'
import { DEFAULT_RETENTION_DAYS, deleteScansBefore, retentionDays } from '../../src/stats/retention'
import { newMerchant, PLAIN_SCAN_ATTRS } from '../helpers'
import { logLines } from '../logs'

const DAY = 86_400_000

async function seed(codeId: string, merchantId: string, ages: number[], now: number) {
  const statement = env.DB.prepare(
    'insert into scans (id, code_id, merchant_id, scanned_at, attrs) values (?, ?, ?, ?, ?)',
  )
  await env.DB.batch(
    ages.map((age, i) =>
      statement.bind(`scan_${codeId}_${i}`, codeId, merchantId, now - age, PLAIN_SCAN_ATTRS),
    ),
  )
  await env.DB.prepare('insert into scan_rollup_hours (code_id, hour, human) values (?, ?, ?)')
    .bind(codeId, now - 500 * DAY, ages.length)
    .run()
  const visitor = env.DB.prepare(
    'insert into scan_rollup_visitors (code_id, hour, visitor_hash) values (?, ?, ?)',
  )
  await env.DB.batch(
    ages.map((age, i) =>
      visitor.bind(codeId, Math.floor((now - age) / 3_600_000) * 3_600_000, `v${i}`),
    ),
  )
}

const count = async (codeId: string) =>
  (
    await env.DB.prepare('select count(*) as n from scans where code_id = ?')
      .bind(codeId)
      .first<{ n: number }>()
  )?.n

async function runCron(scheduledTime: number, vars: Partial<Env> = {}) {
  const ctx = createExecutionContext()
  const log = vi.spyOn(console, 'info').mockImplementation(() => {})
  await worker.scheduled(
    createScheduledController({ scheduledTime, cron: RETENTION_CRON }),
    { ...env, ...vars },
    ctx,
  )
  await waitOnExecutionContext(ctx)
  log.mockRestore()
}

describe('raw scan retention (the scheduled handler)', () => {
  it('deletes raw scans and visitor hashes older than SCAN_RETENTION_DAYS, keeping newer ones and the counts', async () => {
    const { merchantId } = await newMerchant()
    const now = Date.now()
    await seed('code_ret1', merchantId, [31 * DAY, 45 * DAY, 400 * DAY, 29 * DAY, 1000], now)
    await runCron(now, { SCAN_RETENTION_DAYS: '30' })
    expect(await count('code_ret1')).toBe(2)
    const visitors = await env.DB.prepare(
      'select visitor_hash from scan_rollup_visitors where code_id = ? order by visitor_hash',
    )
      .bind('code_ret1')
      .all()
    expect(visitors.results).toEqual([{ visitor_hash: 'v3' }, { visitor_hash: 'v4' }])
    const rollup = await env.DB.prepare('select human from scan_rollup_hours where code_id = ?')
      .bind('code_ret1')
      .first()
    expect(rollup).toEqual({ human: 5 })
  })

  it('keeps 400 days by default', async () => {
    const { merchantId } = await newMerchant()
    const now = Date.now()
    await seed('code_ret2', merchantId, [399 * DAY, 401 * DAY], now)
    await runCron(now)
    expect(await count('code_ret2')).toBe(1)
    expect(retentionDays({})).toBe(DEFAULT_RETENTION_DAYS)
  })

  it('works in chunks until nothing old is left', async () => {
    const { merchantId } = await newMerchant()
    const now = Date.now()
    await seed(
      'code_ret3',
      merchantId,
      Array.from({ length: 50 }, (_, i) => (10 + i) * DAY),
      now,
    )
    await seed('code_ret4', merchantId, [DAY], now)
    const cutoff = now - 5 * DAY
    const older = () =>
      env.DB.prepare('select count(*) as n from scans where scanned_at < ?')
        .bind(cutoff)
        .first<{ n: number }>()
    const before = (await older())?.n ?? 0
    expect(before).toBeGreaterThanOrEqual(50)
    expect(await deleteScansBefore(env.DB, cutoff, { chunk: 7 })).toBe(before)
    expect((await older())?.n).toBe(0)
    expect(await count('code_ret3')).toBe(0)
    expect(await count('code_ret4')).toBe(1)
  })

  it('falls back to the default for an unusable setting, and says so', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    for (const raw of ['0', '-3', '1.5', 'forever']) {
      expect(retentionDays({ SCAN_RETENTION_DAYS: raw })).toBe(DEFAULT_RETENTION_DAYS)
    }
    expect(error).toHaveBeenCalledTimes(4)
    expect(logLines(error).map((line) => line.value)).toEqual(['0', '-3', '1.5', 'forever'])
    error.mockRestore()
    expect(retentionDays({ SCAN_RETENTION_DAYS: ' 90 ' })).toBe(90)
  })
})
