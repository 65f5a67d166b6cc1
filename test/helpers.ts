/** Test factories: a merchant with a key, and a client that calls the Worker like the outside would. */
import {
  createExecutionContext,
  runDurableObjectAlarm,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import { createApiKey, createMerchant } from '../src/auth/queries'
import { createDb } from '../src/db/client'
import { SCAN_ATTRS } from '../src/db/scan-attrs'
import type { Bindings } from '../src/env'
import { hubFor } from '../src/hub/client'
import worker from '../src/index'

export const ORIGIN = 'https://qr.test'

/** A phone's browser: counted as a person, never as a bot. */
export const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1'

export async function newMerchant(name = 'Café Luna') {
  const db = createDb(env.DB)
  const merchantId = await createMerchant(db, { name, displayDomain: 'cafeluna.example' })
  const { key, id: keyId } = await createApiKey(db, merchantId, 'test')
  return { merchantId, key, keyId }
}

export interface CallOptions {
  method?: string
  key?: string
  json?: unknown
  body?: BodyInit
  headers?: Record<string, string>
  cf?: Record<string, unknown>
  /** Bindings to add or override for this request (e.g. a Stripe key). */
  env?: Partial<Cloudflare.Env & Bindings>
  /** The request's origin, ORIGIN unless given: workerd builds it from the `Host` header. */
  origin?: string
}

/** Sends one request through the Worker and waits for everything it left in `waitUntil`. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers)
  if (options.key) headers.set('authorization', `Bearer ${options.key}`)
  let body = options.body
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const request = new Request(`${options.origin ?? ORIGIN}${path}`, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    redirect: 'manual',
    cf: options.cf,
  } as RequestInit)
  const ctx = createExecutionContext()
  const bindings = options.env ? { ...env, ...options.env } : env
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    bindings as typeof env,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return response
}

export async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  return (await response.json()) as {
    type: string
    code: string
    status: number
    detail: string
    errors?: { path: string; message: string }[]
  }
}

export async function createCode(key: string, body: Record<string, unknown>) {
  const response = await call('/api/v1/codes', { key, json: body })
  if (response.status !== 201)
    throw new Error(`create failed ${response.status} ${await response.text()}`)
  return (await response.json()) as Record<string, unknown> & {
    id: string
    slug: string
    url: string
  }
}

/** A new merchant with one code: a €4.50 checkout code unless `body` says otherwise. */
export async function merchantWithCode(body: Record<string, unknown> = {}, name?: string) {
  const merchant = await newMerchant(name)
  const open = 'amount_min' in body || 'amount_max' in body
  const defaults =
    body.action === 'redirect' ? {} : { ...CHECKOUT, ...(open ? { amount: undefined } : {}) }
  const code = await createCode(merchant.key, { ...defaults, ...body })
  return { ...merchant, code }
}

const CHECKOUT = { action: 'checkout', currency: 'eur', amount: 450, description: 'Flat white' }

/** A same-origin form post, as a browser sends it. */
export function postForm(
  path: string,
  fields: Record<string, string> | string = {},
  options: CallOptions = {},
) {
  return call(path, {
    ...options,
    method: 'POST',
    body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      ...options.headers,
    },
  })
}

/**
 * Every item of an API list, followed page by page through `next_cursor` with `limit` per page;
 * checks each page's size and that `has_more` agrees with the cursor.
 */
export async function pageThrough<T = { id: string }>(path: string, key: string, limit: number) {
  const items: T[] = []
  const join = path.includes('?') ? '&' : '?'
  let cursor: string | null = null
  let pages = 0
  do {
    const query: string = `${join}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`
    const response = await call(`${path}${query}`, { key })
    expect(response.status, `${path}${query}`).toBe(200)
    const page = (await response.json()) as {
      data: T[]
      next_cursor: string | null
      has_more: boolean
    }
    expect(page.data.length).toBeLessThanOrEqual(limit)
    expect(page.has_more).toBe(page.next_cursor !== null)
    items.push(...page.data)
    cursor = page.next_cursor
    expect(++pages).toBeLessThan(1000)
  } while (cursor)
  return items
}

/**
 * Runs the code's hub alarm until everything it holds is in D1, as the runtime would a few seconds
 * after a scan. Throws if it cannot (e.g. while a test makes D1 fail).
 */
export async function flushHub(codeId: string) {
  const hub = hubFor(env, codeId)
  for (let i = 0; i < 50; i++) {
    if ((await hub.counters()).unflushed === 0) return
    await runDurableObjectAlarm(hub)
  }
  throw new Error(`hub ${codeId} still holds unflushed records`)
}

/**
 * `target` (a binding) with one method replaced by `replace(original)`, the original bound to
 * the target; every other member is the target's own. For counting or breaking a binding's calls.
 */
export function replaceMethod<T extends object, K extends keyof T>(
  target: T,
  name: K,
  replace: (original: T[K]) => T[K],
): T {
  const method = target[name]
  if (typeof method !== 'function') throw new TypeError(`${String(name)} is not a method`)
  const replacement = replace(method.bind(target) as T[K])
  return new Proxy(target, {
    get(t, prop) {
      if (prop === name) return replacement
      const value = Reflect.get(t, prop, t)
      return typeof value === 'function' ? value.bind(t) : value
    },
  })
}

/** The code hubs, as the Worker sees them when the hub cannot be reached for `pendingStats`. */
export function statsHubUnreachable() {
  return replaceMethod(env.CODE_HUB, 'get', (get) => (id, opts) => {
    const stub = get(id, opts)
    const lost = { pendingStats: () => Promise.reject(new Error('Network connection lost.')) }
    return lost as unknown as typeof stub
  })
}

/**
 * `scans.attrs` of a plain human GET from a phone, for tests that write raw scans into D1 directly
 * (the hubs write them in production).
 */
const PLAIN_SCAN: Partial<Record<(typeof SCAN_ATTRS)[number], unknown>> = {
  method: 'GET',
  is_bot: 0,
  device: 'mobile',
  checkout_view: 0,
}
export const PLAIN_SCAN_ATTRS = JSON.stringify(SCAN_ATTRS.map((name) => PLAIN_SCAN[name] ?? null))
