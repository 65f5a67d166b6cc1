/** A code's numbers on its admin page: live counters, scans over time, the funnel, top lists. */
import type { HubCounters } from '../../hub/types'
import type { CodeStats } from '../../stats/query'

/** Server-rendered bars of human (and bot) scans per bucket: no script, no chart library. */
export function ScansChart(props: { stats: CodeStats }) {
  const series = props.stats.series
  const width = 640
  const height = 160
  const top = 12
  const bottom = 20
  const max = Math.max(1, ...series.map((p) => p.human + p.bot))
  const step = width / Math.max(1, series.length)
  const bar = Math.max(2, step * 0.7)
  const y = (n: number) => ((height - top - bottom) * n) / max
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Scans per day: ${series.map((p) => `${p.start.slice(0, 10)} ${p.human} human, ${p.bot} bot`).join('; ')}`}
    >
      <text x="0" y="10">
        {`max ${max}`}
      </text>
      {series.map((p, i) => {
        const x = i * step + (step - bar) / 2
        const humanH = y(p.human)
        const botH = y(p.bot)
        const base = height - bottom
        return (
          <g>
            <rect
              x={x.toFixed(1)}
              y={(base - humanH).toFixed(1)}
              width={bar.toFixed(1)}
              height={humanH.toFixed(1)}
            />
            <rect
              class="bot"
              x={x.toFixed(1)}
              y={(base - humanH - botH).toFixed(1)}
              width={bar.toFixed(1)}
              height={botH.toFixed(1)}
            />
            {i % Math.ceil(series.length / 7) === 0 ? (
              <text x={x.toFixed(1)} y={String(height - 6)}>
                {p.start.slice(5, 10)}
              </text>
            ) : null}
          </g>
        )
      })}
    </svg>
  )
}

/** The checkout funnel as proportional bars: scans → checkout shown → pay pressed → paid. */
export function Funnel(props: { stats: CodeStats }) {
  const f = props.stats.funnel
  const steps: [string, number][] = [
    ['Human scans', f.human_scans],
    ['Checkout shown', f.checkout_views],
    ['Pay pressed', f.pay_pressed],
    ['Paid', f.paid],
  ]
  const max = Math.max(1, ...steps.map(([, n]) => n))
  return (
    <svg
      class="chart"
      viewBox="0 0 640 120"
      role="img"
      aria-label={steps.map(([l, n]) => `${l}: ${n}`).join(', ')}
    >
      {steps.map(([label, n], i) => (
        <g>
          <text x="0" y={String(i * 28 + 16)}>
            {`${label} · ${n}`}
          </text>
          <rect x="160" y={String(i * 28 + 4)} width={((460 * n) / max).toFixed(1)} height="16" />
        </g>
      ))}
    </svg>
  )
}

export function TopList(props: { title: string; entries: CodeStats['breakdowns']['country'] }) {
  const entries = props.entries.slice(0, 5)
  return (
    <div>
      <h3>{props.title}</h3>
      {entries.length ? (
        <ol>
          {entries.map((e) => (
            <li>
              {e.value ?? 'unknown'} · {e.human}
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">No scans yet.</p>
      )}
    </div>
  )
}

/** The live counters; the admin script keeps every `data-count` current from the feed. */
export function Counters(props: { counters: HubCounters | null }) {
  const c = props.counters
  const cell = (key: keyof HubCounters, label: string) => (
    <div>
      <div class="stat" data-count={key}>
        {c ? String(c[key]) : '—'}
      </div>
      <div class="muted">{label}</div>
    </div>
  )
  return (
    <div class="grid counters">
      {cell('human', 'human scans')}
      {cell('human_qr', 'of them from the printed QR')}
      {cell('unique_visitors_today', 'unique visitors today')}
      {cell('bot', 'bots and previews')}
      {cell('paid', 'paid')}
    </div>
  )
}
