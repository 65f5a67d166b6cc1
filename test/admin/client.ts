/** A browser-like admin client: keeps the session cookie and posts same-origin forms. */
import { hashApiKey } from '../../src/auth/keys'
import type { Bindings } from '../../src/env'
import { call, ORIGIN } from '../helpers'

let clients = 0

export class AdminClient {
  cookie = ''
  /** Bindings overriding the test environment's for this client's requests. */
  bindings: Partial<Bindings> | undefined
  /** Headers this browser sends with every request (a User-Agent, say). */
  headers: Record<string, string> = {}
  /** Each client is its own visitor, as far as per-IP limits go. */
  readonly ip = `198.18.${Math.floor(++clients / 250)}.${clients % 250}`

  async get(path: string) {
    return this.send(path, 'GET')
  }

  async post(path: string, fields: Record<string, string> = {}, origin = ORIGIN) {
    return this.send(path, 'POST', new URLSearchParams(fields).toString(), origin)
  }

  async send(
    path: string,
    method: string,
    body?: string,
    origin = ORIGIN,
    contentType = 'application/x-www-form-urlencoded',
  ) {
    const headers: Record<string, string> = { ...this.headers, origin, 'cf-connecting-ip': this.ip }
    if (this.cookie) headers.cookie = this.cookie
    if (body !== undefined) headers['content-type'] = contentType
    const response = await call(path, { method, body, headers, env: this.bindings })
    const setCookie = response.headers.get('set-cookie')
    if (setCookie) {
      const [pair = ''] = setCookie.split(';')
      this.cookie = /=$/.test(pair) || /Max-Age=0/i.test(setCookie) ? '' : pair
    }
    return response
  }

  /** The session's secret and its signature, as the cookie carries them (`secret.signature`). */
  get signedSecret() {
    const value = decodeURIComponent(this.cookie.slice(this.cookie.indexOf('=') + 1))
    const dot = value.lastIndexOf('.')
    return { secret: value.slice(0, dot), signature: value.slice(dot + 1) }
  }

  /** The D1 key of this browser's session (`admin_sessions.hash`). */
  sessionHash() {
    return hashApiKey(this.signedSecret.secret)
  }

  static async signIn(key: string, headers: Record<string, string> = {}) {
    const client = new AdminClient()
    client.headers = headers
    const response = await client.post('/admin/login', { api_key: key })
    if (response.status !== 303) throw new Error(`sign-in failed: ${response.status}`)
    return client
  }
}
