/** wrangler.toml and the code that reads its values must agree. */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { unstable_readConfig } from 'wrangler'
import { DOMAINS_CRON, HOLDS_CRON, RETENTION_CRON } from '../../src/lib/crons'

describe('wrangler.toml', () => {
  it('triggers exactly the cron jobs the scheduled handler dispatches', () => {
    const config = unstable_readConfig({
      config: join(import.meta.dirname, '..', '..', 'wrangler.toml'),
    }) as { triggers?: { crons?: string[] } }
    expect([...(config.triggers?.crons ?? [])].sort()).toEqual(
      [DOMAINS_CRON, HOLDS_CRON, RETENTION_CRON].sort(),
    )
  })
})
