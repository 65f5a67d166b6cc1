/** Settings: the merchant's name and display domain (shown on checkout pages), and API keys. */
import type { Context } from 'hono'
import { DOMAIN_GRACE_MS } from '../auth/domains'
import { readMerchantName } from '../auth/merchant-name'
import {
  createApiKey,
  getMerchant,
  listApiKeys,
  markDomainVerified,
  revokeApiKey,
  updateMerchantProfile,
  verifiedAfterSave,
} from '../auth/queries'
import { decodeGrant, type Grant, SCOPES } from '../auth/scopes'
import { listAdminSessions } from '../auth/sessions'
import type { AppEnv } from '../env'
import { paginate } from '../lib/cursor'
import { DnsFailure, domainRecord, provesDomain } from '../lib/dns'
import { normalizeDomain } from '../lib/domain'
import { log } from '../lib/log'
import { truncate } from '../lib/text'
import { paymentMode } from '../money/payment-mode'
import { findMerchantAccount } from '../payments/accounts'
import { isTestMode } from '../payments/mode'
import { readForm } from './forms'
import { AdminLayout } from './layout'
import { type AccountMessage, PaymentAccountCard } from './payment-account-card'
import { SESSIONS_SHOWN, SessionList } from './sessions'

/** Keys listed here, newest first (the API pages through all of them). */
const KEYS_SHOWN = 100

/** The settings page, as it is now, with what the last action left to say. */
async function page(
  c: Context<AppEnv>,
  extra: {
    error?: string
    saved?: boolean
    newKey?: string
    keyError?: string
    domainError?: string
    account?: AccountMessage
  } = {},
  status: 200 | 400 | 404 | 409 | 502 | 503 = 200,
) {
  const db = c.var.db
  const { merchantId } = c.var.admin
  const [merchant, keyRows, sessions, account] = await Promise.all([
    getMerchant(db, merchantId),
    listApiKeys(db, merchantId, { limit: KEYS_SHOWN }),
    listAdminSessions(db, merchantId, SESSIONS_SHOWN),
    findMerchantAccount(db, merchantId),
  ])
  const keys = paginate(keyRows, KEYS_SHOWN, (k) => ({ at: k.createdAt, id: k.id }))
  const iso = (ms: number | null) =>
    ms ? new Date(ms).toISOString().slice(0, 16).replace('T', ' ') : '—'
  return c.html(
    <AdminLayout
      title="Settings"
      section="settings"
      merchantName={merchant?.name}
      testMode={isTestMode(c.env)}
    >
      <h1>Settings</h1>
      <form method="post" action="/admin/settings" class="card">
        <h2>Business</h2>
        {extra.error ? (
          <p class="error" role="alert">
            {extra.error}
          </p>
        ) : null}
        {extra.saved ? <p class="notice">Saved.</p> : null}
        <label for="name">Name shown to customers</label>
        <input id="name" name="name" value={merchant?.name ?? ''} required maxlength={100} />
        <label for="display_domain">
          Your website's domain, shown on checkout pages so customers can check it is you
        </label>
        <input
          id="display_domain"
          name="display_domain"
          value={merchant?.displayDomain ?? ''}
          placeholder="cafeluna.example"
        />
        <p>
          <button type="submit">Save</button>
        </p>
      </form>
      <PaymentAccountCard
        platform={paymentMode(c.env) === 'platform'}
        account={account}
        message={extra.account}
      />
      {merchant?.displayDomain ? (
        <DomainCheck
          domain={merchant.displayDomain}
          token={merchant.domainToken}
          verifiedAt={merchant.domainVerifiedAt}
          missingSince={merchant.domainMissingSince}
          error={extra.domainError}
          when={iso}
        />
      ) : null}
      <section class="card" aria-labelledby="keys-h">
        <h2 id="keys-h">API keys</h2>
        {extra.keyError ? (
          <p class="error" role="alert">
            {extra.keyError}
          </p>
        ) : null}
        {extra.newKey ? (
          <div class="notice" role="status">
            <p>
              <strong>Your new key. Copy it now: it will not be shown again.</strong>
            </p>
            <p class="secret">{extra.newKey}</p>
          </div>
        ) : null}
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Scopes</th>
                <th class="hide">Created</th>
                <th class="hide">Last used</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr>
                  <td>{k.name}</td>
                  <td class="change">qrk_…{k.last4}</td>
                  <td>{describeGrant(decodeGrant(k.scopes))}</td>
                  <td class="hide">{iso(k.createdAt)}</td>
                  <td class="hide">{iso(k.lastUsedAt)}</td>
                  <td>
                    {k.revokedAt ? (
                      <span class="badge archived">revoked</span>
                    ) : (
                      <form method="post" action={`/admin/settings/keys/${k.id}/revoke`}>
                        <button type="submit" class="danger">
                          Revoke
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {keys.has_more ? (
          <p class="muted">
            The {KEYS_SHOWN} newest keys; the API lists them all (<code>GET /api/v1/api-keys</code>
            ).
          </p>
        ) : null}
        <form method="post" action="/admin/settings/keys" class="inline">
          <div>
            <label for="key-name">New key name</label>
            <input id="key-name" name="name" required maxlength={100} placeholder="POS terminal" />
          </div>
          <fieldset>
            <legend>Access</legend>
            <label>
              <input type="radio" name="access" value="full" checked /> Full access
            </label>
            <label>
              <input type="radio" name="access" value="limited" /> Only these scopes:
            </label>
            {SCOPES.map((scope) => (
              <label>
                <input type="checkbox" name={`scope:${scope}`} value="on" /> <code>{scope}</code>
              </label>
            ))}
          </fieldset>
          <button type="submit">Create key</button>
        </form>
      </section>
      <SessionList sessions={sessions} current={c.var.admin.sessionHash} />
    </AdminLayout>,
    status,
  )
}

/** Whether the display domain is verified, and if not, the TXT record that proves it. */
function DomainCheck(props: {
  domain: string
  /** Null only for a domain saved before tokens existed: saving it again issues one. */
  token: string | null
  verifiedAt: number | null
  /** Since when the daily re-check has not found the record of the verified domain. */
  missingSince: number | null
  error?: string
  when: (ms: number | null) => string
}) {
  if (!props.token) {
    return (
      <section class="card" aria-labelledby="domain-h">
        <h2 id="domain-h">Domain</h2>
        <p>
          Save the form above again to get the DNS record that proves{' '}
          <strong>{props.domain}</strong> is yours; checkout pages show your name only until then.
        </p>
      </section>
    )
  }
  const record = domainRecord(props.domain, props.token)
  const missingSince = props.verifiedAt ? props.missingSince : null
  return (
    <section class="card" aria-labelledby="domain-h">
      <h2 id="domain-h">Domain</h2>
      {props.verifiedAt && missingSince === null ? (
        <p class="notice" role="status">
          <strong>{props.domain}</strong> is verified (since {props.when(props.verifiedAt)} UTC):
          checkout pages show it. Keep its TXT record: it is checked again every day.
        </p>
      ) : (
        <>
          {props.error ? (
            <p class="error" role="alert">
              {props.error}
            </p>
          ) : null}
          {missingSince !== null ? (
            <p class="error" role="alert">
              The TXT record that proves <strong>{props.domain}</strong> has not been found since{' '}
              {props.when(missingSince)} UTC. Checkout pages stop showing the domain after{' '}
              {props.when(missingSince + DOMAIN_GRACE_MS)} UTC unless the record is back:
            </p>
          ) : (
            <p>
              Checkout pages show <strong>{props.domain}</strong> once you prove it is yours; until
              then they show your name only. Add this TXT record at your DNS provider, then check:
            </p>
          )}
          <dl>
            <dt>Name</dt>
            <dd class="secret">{record.name}</dd>
            <dt>Value</dt>
            <dd class="secret">{record.value}</dd>
          </dl>
          <form method="post" action="/admin/settings/domain/verify" class="inline">
            <button type="submit">Check now</button>
          </form>
        </>
      )}
    </section>
  )
}

/** The settings page, for the payment account's handlers (payment-account.tsx). */
export const settingsPage = page

export function showSettings(c: Context<AppEnv>) {
  return page(c)
}

export async function saveProfile(c: Context<AppEnv>) {
  const form = await readForm(c.req)
  const domain = normalizeDomain(form.display_domain ?? '')
  if (form.display_domain?.trim() && !domain) {
    return page(c, { error: 'The domain must be a bare host name such as cafeluna.example.' }, 400)
  }
  const read = readMerchantName(
    form.name ?? '',
    await verifiedAfterSave(c.var.db, c.var.admin.merchantId, domain),
  )
  if (!('name' in read)) return page(c, { error: read.message }, 400)
  await updateMerchantProfile(c.var.db, c.var.admin.merchantId, {
    name: read.name,
    displayDomain: domain,
  })
  return page(c, { saved: true })
}

/** The domain's "Check now": looks its TXT record up, and marks the domain verified when found. */
export async function checkDomainNow(c: Context<AppEnv>) {
  const { merchantId } = c.var.admin
  const merchant = await getMerchant(c.var.db, merchantId)
  const domain = merchant?.displayDomain
  if (!domain || !merchant.domainToken) {
    return page(c, { error: 'Set your domain first, then check it.' }, 400)
  }
  if (merchant.domainVerifiedAt && merchant.domainMissingSince === null) return page(c)
  let found: boolean
  try {
    found = await provesDomain(domain, merchant.domainToken, c.env.DNS_RESOLVER_URL || undefined)
  } catch (err) {
    if (err instanceof DnsFailure) {
      return page(c, {
        domainError: `DNS for ${domain} answers with an error (SERVFAIL): check its name servers and DNSSEC, then check again.`,
      })
    }
    log.warn('domain check failed', { merchantId, domain }, err)
    return page(c, { domainError: 'DNS could not be asked just now. Try again in a minute.' }, 502)
  }
  if (!found) {
    return page(c, {
      domainError: `No such TXT record on ${domain} yet. DNS changes can take a few minutes to show.`,
    })
  }
  await markDomainVerified(
    c.var.db,
    merchantId,
    { domain, token: merchant.domainToken },
    Date.now(),
  )
  return page(c)
}

export async function createKey(c: Context<AppEnv>) {
  const form = await readForm(c.req)
  const name = truncate(form.name?.trim() ?? '', 100) || 'API key'
  // An admin session has full access, so it may grant any scopes.
  const scopes = form.access === 'limited' ? SCOPES.filter((s) => form[`scope:${s}`]) : null
  if (scopes?.length === 0) {
    return page(c, { keyError: 'Choose at least one scope, or full access.' }, 400)
  }
  const created = await createApiKey(c.var.db, c.var.admin.merchantId, name, scopes)
  return page(c, { newKey: created.key })
}

export async function revokeKey(c: Context<AppEnv, '/settings/keys/:id/revoke'>) {
  const id = c.req.param('id')
  if (/^key_[0-9A-Za-z]{1,64}$/.test(id)) {
    await revokeApiKey(c.var.db, c.var.admin.merchantId, id, Date.now())
  }
  return c.redirect('/admin/settings', 303)
}

/** A key's scopes as the table shows them. */
const describeGrant = (grant: Grant) => (grant === null ? 'full access' : grant.join(', '))
