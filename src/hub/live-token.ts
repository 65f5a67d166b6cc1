/**
 * Short-lived live-feed tokens, for browsers (which cannot set headers on a WebSocket request):
 * `base64url(claims).base64url(HMAC-SHA256(LIVE_TOKEN_SECRET, "live-token.v1." + claims))`.
 * A token names one code, its merchant and the API key that asked for it, and expires after
 * LIVE_TOKEN_TTL_MS. It only opens a socket; the hub closes the feed after FEED_MAX_MS (watchers.ts).
 */
export const LIVE_TOKEN_TTL_MS = 60_000

export interface LiveTokenClaims {
  codeId: string
  merchantId: string
  apiKeyId: string
  expiresAt: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0))
  } catch {
    return null
  }
}

async function key(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  )
}

const signed = (body: string) => encoder.encode(`live-token.v1.${body}`)

export async function signLiveToken(secret: string, claims: LiveTokenClaims): Promise<string> {
  const body = base64url(
    encoder.encode(
      JSON.stringify({
        c: claims.codeId,
        m: claims.merchantId,
        k: claims.apiKeyId,
        e: claims.expiresAt,
      }),
    ),
  )
  const mac = await crypto.subtle.sign('HMAC', await key(secret), signed(body))
  return `${body}.${base64url(new Uint8Array(mac))}`
}

/** The claims of a genuine, unexpired token; null for anything else. Constant-time check. */
export async function verifyLiveToken(
  secret: string,
  token: string,
  now = Date.now(),
): Promise<LiveTokenClaims | null> {
  const [body, mac, ...rest] = token.split('.')
  if (!body || !mac || rest.length) return null
  const macBytes = fromBase64url(mac)
  if (!macBytes) return null
  const ok = await crypto.subtle.verify('HMAC', await key(secret), macBytes, signed(body))
  if (!ok) return null
  const raw = fromBase64url(body)
  if (!raw) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(decoder.decode(raw))
  } catch {
    return null
  }
  const { c, m, k, e } = (parsed ?? {}) as Record<string, unknown>
  if (typeof c !== 'string' || typeof m !== 'string' || typeof k !== 'string') return null
  if (typeof e !== 'number' || e <= now) return null
  return { codeId: c, merchantId: m, apiKeyId: k, expiresAt: e }
}
