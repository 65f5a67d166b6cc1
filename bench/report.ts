/** Turning the bench's results into the printed table (the JSON is the same data, unformatted). */
import type { LoadResult } from './load'

export interface ScenarioRow {
  id: string
  name: string
  baseline: string
  result: LoadResult
  ratios: { rps: number; p50: number; p99: number; cpu: number }
  note?: string
}

export interface Target {
  target: string
  pass: boolean
  measured: string
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length))
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s)

/** The middle value (the mean of the two middle ones of an even count); 0 for none. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)),
  x: (n: number) => `${n.toFixed(2)}×`,
  kib: (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`,
  kb: (bytes: number) => `${(bytes / 1000).toFixed(2)} kB`,
}

export function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (alignRight[i] ? lpad(c, widths[i] ?? 0) : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export function scenarioTable(rows: ScenarioRow[]): string {
  return table(
    [
      'scenario',
      'conns',
      'requests',
      'req/s',
      '× base',
      'p50 ms',
      '× base',
      'p99 ms',
      '× base',
      'workerd CPU ms/req',
      '× base',
      'pauses/s >8 ms',
      'D1 lag s',
      'sustained req/s',
    ],
    rows.map((r) => [
      `${r.id} ${r.name}`,
      String(r.result.connections),
      fmt.int(r.result.requests),
      fmt.int(r.result.rps),
      fmt.x(r.ratios.rps),
      fmt.ms(r.result.p50),
      fmt.x(r.ratios.p50),
      fmt.ms(r.result.p99),
      fmt.x(r.ratios.p99),
      r.result.cpu ? r.result.cpu.serverMsPerRequest.toFixed(3) : '',
      Number.isFinite(r.ratios.cpu) ? fmt.x(r.ratios.cpu) : '',
      (r.result.pauses.over8 / (r.result.elapsedMs / 1000)).toFixed(1),
      r.result.drain
        ? `${(r.result.drain.ms / 1000).toFixed(2)}${r.result.drain.complete ? '' : '!'}`
        : '',
      r.result.drain ? fmt.int(r.result.drain.sustainedRps) : '',
    ]),
    [false, true, true, true, true, true, true, true, true, true, true, true, true, true],
  )
}

export function targetTable(targets: Target[]): string {
  return table(
    ['', 'target', 'measured'],
    targets.map((t) => [t.pass ? 'PASS' : 'FAIL', t.target, t.measured]),
    [false, false, false],
  )
}
