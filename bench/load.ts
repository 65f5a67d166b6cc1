/**
 * Load generation with autocannon's programmatic API. Every run is a fixed number of requests
 * (`amount`), so no request is cut off in flight when the run ends and every response can be
 * counted; the amount is calibrated from a warm-up so each measured run lasts about `seconds`.
 * Latency is timed per request here (setupRequest → onResponse, sub-millisecond resolution) and
 * throughput is responses / (last response − first request); autocannon's own figures are kept
 * beside them in the JSON for cross-checking.
 */
import autocannon from 'autocannon'

/** Per-path counts of what the load generator sent and got back, for the correctness check. */
export class Ledger {
  readonly paths = new Map<
    string,
    { sent: number; answered: number; ok: number; statuses: Record<string, number> }
  >()

  private entry(path: string) {
    let e = this.paths.get(path)
    if (!e) {
      e = { sent: 0, answered: 0, ok: 0, statuses: {} }
      this.paths.set(path, e)
    }
    return e
  }

  sent(path: string) {
    this.entry(path).sent++
  }

  answered(path: string, status: number) {
    const e = this.entry(path)
    e.answered++
    e.statuses[status] = (e.statuses[status] ?? 0) + 1
    if (status >= 200 && status < 400) e.ok++
  }
}

export interface LoadSpec {
  origin: URL
  connections: number
  amount: number
  /** The path of request number i (i counts from 0 across the whole run). */
  path: (i: number) => string
  headers?: Record<string, string>
  /** Where scans are tallied; omit for non-scan requests. */
  ledger?: Ledger
}

export interface LoadResult {
  connections: number
  requests: number
  elapsedMs: number
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  statuses: Record<string, number>
  errors: number
  timeouts: number
  /** Sent but never answered (timeouts, resets); 0 in a clean run. */
  unanswered: number
  /**
   * For scan runs: time after the last response until every scan answered so far was in D1, and
   * the throughput if that time is counted (requests / (elapsed + drain)).
   */
  drain?: { ms: number; complete: boolean; sustainedRps: number }
  /** CPU per answered request: workerd (server) and the load generator's Node process (client). */
  cpu?: { serverMsPerRequest: number; clientMsPerRequest: number; serverCores: number }
  autocannon: { rpsAverage: number; p50: number; p99: number }
  /**
   * Pauses: gaps between two consecutive responses, by length (ms: over 4, over 8, over 16). At
   * thousands of responses a second they arrive every fraction of a millisecond, so such a gap is
   * a stretch in which the server answered nothing, and every connection waited through it: where
   * a p99 comes from.
   */
  pauses: { over4: number; over8: number; over16: number; totalMs: number }
}

type Context = Record<string, unknown> & { path?: string; t0?: number }

export async function load(spec: LoadSpec): Promise<LoadResult> {
  const latencies = new Float64Array(spec.amount + spec.connections * 4)
  const pauses = { over4: 0, over8: 0, over16: 0, totalMs: 0 }
  let n = 0
  let index = 0
  let sent = 0
  let first = Number.POSITIVE_INFINITY
  let last = 0
  const statuses: Record<string, number> = {}
  const result = await autocannon({
    url: spec.origin.href,
    connections: spec.connections,
    pipelining: 1,
    amount: spec.amount,
    timeout: 30,
    headers: spec.headers ?? {},
    requests: [
      {
        method: 'GET',
        setupRequest(request: Record<string, unknown>, context: Context) {
          const path = spec.path(index++)
          context.path = path
          const now = performance.now()
          context.t0 = now
          if (now < first) first = now
          sent++
          spec.ledger?.sent(path)
          return { ...request, path }
        },
        onResponse(status: number, _body: unknown, context: Context) {
          const now = performance.now()
          const gap = n > 0 ? now - last : 0
          if (gap > 4) {
            pauses.over4++
            if (gap > 8) pauses.over8++
            if (gap > 16) pauses.over16++
            pauses.totalMs += gap
          }
          last = now
          if (context.t0 !== undefined && n < latencies.length) latencies[n++] = now - context.t0
          statuses[status] = (statuses[status] ?? 0) + 1
          if (context.path !== undefined) spec.ledger?.answered(context.path, status)
        },
      },
    ],
  })
  const sorted = latencies.slice(0, n).sort()
  const pct = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] ?? 0
  const elapsedMs = last - first
  return {
    connections: spec.connections,
    requests: n,
    elapsedMs,
    rps: n / (elapsedMs / 1000),
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: sorted[n - 1] ?? 0,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    unanswered: sent - n,
    autocannon: {
      rpsAverage: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
    },
    pauses,
  }
}

/**
 * Warm-up in two steps (a fixed number of requests, then about one second at the rate that
 * reached), then a measured run sized from the second step's rate to last about `seconds`. A first
 * warm-up alone misjudges the rate (JIT, first D1 writes), which made runs far shorter than asked.
 * Every step goes through the same ledger, so the correctness check counts warm-up scans too.
 */
export async function warmThenMeasure(
  spec: Omit<LoadSpec, 'amount'>,
  options: {
    warmup: number
    seconds: number
    min?: number
    max?: number
    meter?: { start(): void; stop(): { serverMs: number; clientMs: number } }
  },
): Promise<{ warmup: LoadResult; measured: LoadResult }> {
  let offset = 0
  const step = async (amount: number, path: LoadSpec['path']) => {
    const result = await load({ ...spec, amount: Math.max(amount, spec.connections), path })
    return result
  }
  const shifted = (path: LoadSpec['path']) => (i: number) => path(offset + i)
  const first = await step(options.warmup, shifted(spec.path))
  offset += first.requests + first.unanswered
  const warmup = await step(Math.round(first.rps), shifted(spec.path))
  offset += warmup.requests + warmup.unanswered
  const amount = Math.round(
    Math.min(options.max ?? 200_000, Math.max(options.min ?? 500, warmup.rps * options.seconds)),
  )
  options.meter?.start()
  const measured = await load({
    ...spec,
    amount: Math.max(amount, spec.connections),
    path: shifted(spec.path),
  })
  const used = options.meter?.stop()
  if (used) {
    measured.cpu = {
      serverMsPerRequest: used.serverMs / measured.requests,
      clientMsPerRequest: used.clientMs / measured.requests,
      serverCores: used.serverMs / measured.elapsedMs,
    }
  }
  return { warmup, measured }
}
