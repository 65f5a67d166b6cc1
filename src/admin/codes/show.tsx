/**
 * `GET /admin/codes/{id}`: a code's page. Its QR image with a customiser, its short URL and what
 * it does with the buttons that change it, live counters and feed, the last 14 days' numbers,
 * recent payments and its audit log.
 */
import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import { getMerchant } from '../../auth/queries'
import { listCodeChanges } from '../../codes/queries'
import type { Code } from '../../db/schema'
import type { AppEnv } from '../../env'
import { hubFor } from '../../hub/client'
import { paginate } from '../../lib/cursor'
import { log } from '../../lib/log'
import { publicBase, qrContent } from '../../lib/urls'
import { isTestMode } from '../../payments/mode'
import { listPayments } from '../../payments/queries'
import { qrOptionsOrDefaults } from '../../qr/options'
import { PNG_MAX_SIZE } from '../../qr/png'
import { codeStats } from '../../stats/query'
import { amountText, Badge, PaymentRows, when } from '../components'
import { AdminLayout } from '../layout'
import { Counters, Funnel, ScansChart, TopList } from './insights'
import { CodeNotFound, ownCode } from './own-code'

/** Changes shown on a code's page (the API pages through all of them). */
const CHANGES_SHOWN = 50

export async function showCode(c: Context<AppEnv, '/codes/:id'>) {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<CodeNotFound />, 404)
  const db = c.var.db
  const base = publicBase(c.env, c.req.url)
  const now = Date.now()
  const [merchant, changeRows, recent, counters, stats] = await Promise.all([
    getMerchant(db, code.merchantId),
    listCodeChanges(db, code.id, { limit: CHANGES_SHOWN }),
    listPayments(db, code.merchantId, { codeId: code.id, limit: 10 }),
    hubFor(c.env, code.id)
      .counters()
      .catch(() => null),
    codeStats(c.env, code.id, {
      from: now - 14 * 86_400_000,
      to: now,
      interval: 'day',
      tz: 'UTC',
    }).catch((err) => {
      log.error('stats unavailable', { codeId: code.id }, err)
      return null
    }),
  ])
  const changes = paginate(changeRows, CHANGES_SHOWN, (r) => ({ at: r.changedAt, id: r.id }))
  const shortUrl = `${base}/${code.slug}`
  return c.html(
    <AdminLayout
      title={`/${code.slug}`}
      section="codes"
      merchantName={merchant?.name}
      testMode={isTestMode(c.env)}
    >
      <p>
        <a href="/admin">← Codes</a>
      </p>
      <h1>
        /{code.slug} <Badge value={code.status} />
      </h1>
      <div class="grid">
        <QrCustomiser
          code={code}
          content={qrContent(code, base)}
          query={(name) => c.req.query(name)}
        />
        <section class="card" aria-labelledby="url-h">
          <h2 id="url-h">Short URL</h2>
          <p>
            <a href={shortUrl}>{shortUrl}</a>{' '}
            <button type="button" class="secondary" hidden data-copy={shortUrl}>
              Copy
            </button>
          </p>
          <CodeDetails code={code} />
        </section>
      </div>
      <LiveSection code={code}>
        <Counters counters={counters} />
      </LiveSection>
      {stats ? (
        <section class="card" aria-labelledby="stats-h">
          <h2 id="stats-h">Last 14 days (UTC)</h2>
          <ScansChart stats={stats} />
          {code.action === 'checkout' ? <Funnel stats={stats} /> : null}
          <div class="grid">
            <TopList title="Countries" entries={stats.breakdowns.country} />
            <TopList title="Devices" entries={stats.breakdowns.device} />
            <TopList title="Referrers" entries={stats.breakdowns.referrer} />
          </div>
        </section>
      ) : null}
      {code.action === 'checkout' ? (
        <section class="card" aria-labelledby="pay-h">
          <h2 id="pay-h">Recent payments</h2>
          <PaymentRows rows={recent.slice(0, 10)} />
          <a href={`/admin/payments?code_id=${code.id}`}>All payments of this code</a>
        </section>
      ) : null}
      <section class="card" aria-labelledby="audit-h">
        <h2 id="audit-h">Changes</h2>
        {changes.data.length ? (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>What</th>
                  <th>Old → new</th>
                </tr>
              </thead>
              <tbody>
                {changes.data.map((ch) => (
                  <tr>
                    <td>{when(ch.changedAt)}</td>
                    <td class="change">{ch.actor}</td>
                    <td>{ch.field}</td>
                    <td class="change">
                      {ch.oldValue ?? '—'} → {ch.newValue ?? '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">No changes since it was created.</p>
        )}
        {changes.has_more ? (
          <p class="muted">
            The {CHANGES_SHOWN} newest changes; the API lists them all (
            <code>GET /api/v1/codes/{code.id}/changes</code>).
          </p>
        ) : null}
      </section>
    </AdminLayout>,
  )
}

/**
 * The code's QR image as the options in the page's query make it (read as `/qr/{slug}.svg`
 * reads them), a form to change them, and downloads of exactly that image (SVG, or PNG from the
 * Worker: plain links, so they work without script).
 */
function QrCustomiser(props: {
  code: Code
  content: string
  query: (name: string) => string | undefined
}) {
  const { code } = props
  const { size, ecl, fg, bg } = qrOptionsOrDefaults(props.query)
  // The form's fields and the image URL take colours without their `#`.
  const [fgHex, bgHex] = [fg.slice(1), bg.slice(1)]
  const query = `ecl=${ecl}&fg=${fgHex}&bg=${bgHex}`
  const qrUrl = `/qr/${code.slug}.svg?size=${size}&${query}`
  // The Worker draws PNGs up to PNG_MAX_SIZE; a larger print takes the SVG.
  const pngUrl = `/qr/${code.slug}.png?size=${Math.min(size, PNG_MAX_SIZE)}&${query}&download=1`
  return (
    <section class="card" aria-labelledby="qr-h">
      <h2 id="qr-h">QR code</h2>
      <img class="qr" src={qrUrl} alt={`QR code for ${props.content}`} width="256" height="256" />
      <p class="change">{props.content}</p>
      <p class="actions">
        <a class="button secondary" href={`${qrUrl}&download=1`}>
          Download SVG
        </a>
        <a class="button secondary" href={pngUrl}>
          Download PNG
        </a>
      </p>
      <form method="get" action={`/admin/codes/${code.id}`} class="inline">
        <div>
          <label for="size">Size px</label>
          <input id="size" name="size" type="number" min="64" max="4096" value={String(size)} />
        </div>
        <div>
          <label for="ecl">Error correction</label>
          <select id="ecl" name="ecl">
            {['L', 'M', 'Q', 'H'].map((l) => (
              <option selected={l === ecl}>{l}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="fg">Colour</label>
          <input id="fg" name="fg" value={fgHex} pattern="[0-9a-fA-F]{6}" size={7} />
        </div>
        <div>
          <label for="bg">Background</label>
          <input id="bg" name="bg" value={bgHex} pattern="[0-9a-fA-F]{6}" size={7} />
        </div>
        <button type="submit" class="secondary">
          Preview
        </button>
      </form>
    </section>
  )
}

/** What the code does and for how long, with the buttons that edit, pause or archive it. */
function CodeDetails(props: { code: Code }) {
  const { code } = props
  return (
    <>
      <dl>
        <dt>Does</dt>
        <dd>
          {code.action === 'redirect' ? (
            <span class="change">→ {code.destinationUrl}</span>
          ) : (
            `${code.description} · ${amountText(code)}${code.maxPayments ? ` · at most ${code.maxPayments} payment(s)` : ''}`
          )}
        </dd>
        <dt>Kind</dt>
        <dd>{code.mode}</dd>
        <dt>Expires</dt>
        <dd>{code.expiresAt ? when(code.expiresAt) : 'never'}</dd>
        <dt>Version</dt>
        <dd>{code.version}</dd>
      </dl>
      {code.status !== 'archived' ? (
        <div class="actions">
          <a class="button" href={`/admin/codes/${code.id}/edit`}>
            Edit
          </a>
          <StatusButton
            code={code}
            to={code.status === 'paused' ? 'active' : 'paused'}
            label={code.status === 'paused' ? 'Resume' : 'Pause'}
          />
          <StatusButton code={code} to="archived" label="Archive" danger />
        </div>
      ) : (
        <p class="muted">Archived codes cannot change.</p>
      )}
    </>
  )
}

/** Posts a status change, stamped with the version this page shows (see `changeCodeStatus`). */
function StatusButton(props: { code: Code; to: Code['status']; label: string; danger?: boolean }) {
  return (
    <form method="post" action={`/admin/codes/${props.code.id}/status`}>
      <input type="hidden" name="status" value={props.to} />
      <input type="hidden" name="version" value={String(props.code.version)} />
      <button type="submit" class={props.danger ? 'danger' : 'secondary'}>
        {props.label}
      </button>
    </form>
  )
}

/** Live counters and feed: server-rendered now, kept current by the admin script if it runs. */
function LiveSection(props: { code: Code; children?: Child }) {
  return (
    <section
      class="card"
      aria-labelledby="live-h"
      data-live={`/admin/codes/${props.code.id}/live-token`}
    >
      <h2 id="live-h">Live</h2>
      {props.children}
      <p class="muted">Scans appear here as they happen. Without JavaScript, reload the page.</p>
      <ul class="feed" aria-live="polite" />
    </section>
  )
}
