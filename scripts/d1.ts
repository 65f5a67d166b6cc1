/**
 * The command-line scripts' view of D1: our own drizzle query functions over `wrangler d1 execute`
 * (local state under .wrangler/, or the remote database). Reads run at once; writes are collected
 * and sent as one file, which D1 runs as one transaction.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { drizzle } from 'drizzle-orm/sqlite-proxy'
import type { Db } from '../src/db/client'
import * as schema from '../src/db/schema'

export type Target = 'local' | 'remote'

/** A `wrangler d1 …` command failed; `message` is the end of what wrangler said. */
export class D1CommandError extends Error {}

export function wrangler(args: string[], options: { quiet?: boolean } = {}): string {
  try {
    return execFileSync('npx', ['wrangler', ...args], {
      encoding: 'utf8',
      // WRANGLER_LOG: `--json` output is printed at `log` level; a quieter level set in the shell
      // would leave nothing to parse.
      env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG: 'log' },
      stdio: ['ignore', 'pipe', options.quiet ? 'pipe' : 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    })
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string }
    // wrangler's own words: its [ERROR] lines, else the last few it printed.
    const said = stripVTControlCharacters(`${stdout ?? ''}\n${stderr ?? ''}`)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^[⛅─🪵]|wrangler \d/u.test(line))
    const errors = said.filter((line) => line.includes('[ERROR]'))
    const reason = (errors.length ? errors : said.slice(-3)).join(' ')
    throw new D1CommandError(
      reason.replace(/^✘\s*\[ERROR\]\s*/, '') || `wrangler ${args[0]} failed`,
    )
  }
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'boolean') return value ? '1' : '0'
  return `'${String(value).replaceAll("'", "''")}'`
}

/** Inlines bound parameters: `wrangler d1 execute` takes SQL text only. */
function inline(sql: string, params: unknown[]): string {
  let i = 0
  return sql.replace(/\?/g, () => literal(params[i++]))
}

function query(target: Target, sql: string): Record<string, unknown>[] {
  const out = wrangler(['d1', 'execute', 'DB', `--${target}`, '--json', '--command', sql], {
    quiet: true,
  })
  const parsed = JSON.parse(out) as { results: Record<string, unknown>[] }[]
  return parsed[0]?.results ?? []
}

export function openD1(target: Target) {
  const pending: string[] = []
  const db = drizzle(
    async (sql, params, method) => {
      const text = inline(sql, params)
      if (method === 'run') {
        pending.push(`${text};`)
        return { rows: [] }
      }
      const rows = query(target, text).map((row) => Object.values(row))
      return { rows: method === 'get' ? (rows[0] ?? []) : rows }
    },
    { schema },
  ) as unknown as Db
  return {
    db,
    /** Sends the collected writes in one go. */
    commit() {
      if (!pending.length) return
      const dir = mkdtempSync(join(tmpdir(), 'qrcheckout-'))
      const file = join(dir, 'writes.sql')
      try {
        writeFileSync(file, pending.join('\n'))
        wrangler(['d1', 'execute', 'DB', `--${target}`, '--file', file, '--yes'], { quiet: true })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
      pending.length = 0
    },
    count(table: string): number {
      return Number(query(target, `select count(*) as n from ${table}`)[0]?.n ?? 0)
    },
  }
}
