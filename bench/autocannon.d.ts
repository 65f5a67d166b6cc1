/** The part of autocannon's programmatic API the bench uses (the package ships no types). */
declare module 'autocannon' {
  interface Request {
    method?: string
    path?: string
    headers?: Record<string, string>
    setupRequest?(request: Record<string, unknown>, context: Record<string, unknown>): unknown
    onResponse?(
      status: number,
      body: string,
      context: Record<string, unknown>,
      headers: Record<string, string>,
    ): void
  }
  interface Options {
    url: string
    connections?: number
    pipelining?: number
    amount?: number
    duration?: number
    timeout?: number
    headers?: Record<string, string>
    requests?: Request[]
  }
  interface Histogram {
    average: number
    p50: number
    p99: number
  }
  interface Result {
    requests: Histogram
    latency: Histogram
    errors: number
    timeouts: number
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
