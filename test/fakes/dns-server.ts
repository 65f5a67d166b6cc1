/**
 * A fake DNS-over-HTTPS resolver speaking the JSON API of Cloudflare's (`GET /dns-query?name=&
 * type=TXT`, `accept: application/dns-json`), for the display-domain check. Tests set its
 * records and failures through `POST /__fake/…`; nothing else is resolved (NXDOMAIN).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

interface FakeDns {
  /** name → TXT records, each as DoH shows it (quoted character-strings). */
  txt: Map<string, string[]>
  /** name → the DNS status its lookups answer instead (2 SERVFAIL, 5 REFUSED…). */
  status: Map<string, number>
  /** The next answers, instead of a lookup: an HTTP status, or a body that is not DoH JSON. */
  failures: { status: number; body: string }[]
  queries: { name: string; type: string; accept: string }[]
}

export async function startFakeDns(): Promise<{ server: Server; port: number }> {
  const state: FakeDns = { txt: new Map(), status: new Map(), failures: [], queries: [] }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake')
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const send = (status: number, payload: string, type = 'application/dns-json') => {
      res.writeHead(status, { 'content-type': type })
      res.end(payload)
    }
    if (url.pathname === '/__fake/txt') {
      const { name, records, status } = JSON.parse(body) as {
        name: string
        records: string[]
        status?: number
      }
      state.txt.set(name.toLowerCase(), records)
      if (status === undefined) state.status.delete(name.toLowerCase())
      else state.status.set(name.toLowerCase(), status)
      return send(200, '{}', 'application/json')
    }
    if (url.pathname === '/__fake/fail') {
      state.failures.push(JSON.parse(body) as { status: number; body: string })
      return send(200, '{}', 'application/json')
    }
    if (url.pathname === '/__fake/queries') return send(200, JSON.stringify(state.queries))
    if (url.pathname !== '/dns-query') return send(404, '{}')
    const name = (url.searchParams.get('name') ?? '').toLowerCase()
    const type = url.searchParams.get('type') ?? ''
    state.queries.push({ name, type, accept: String(req.headers.accept ?? '') })
    const failure = state.failures.shift()
    if (failure) return send(failure.status, failure.body)
    const status = state.status.get(name)
    if (status !== undefined)
      return send(200, JSON.stringify({ Status: status, Question: [{ name, type: 16 }] }))
    const records = type === 'TXT' ? state.txt.get(name) : undefined
    return send(
      200,
      JSON.stringify({
        Status: records ? 0 : 3,
        Question: [{ name, type: 16 }],
        ...(records ? { Answer: records.map((data) => ({ name, type: 16, TTL: 300, data })) } : {}),
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}
