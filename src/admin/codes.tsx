/** The admin's codes: list with today's numbers, create, a code's page, edit with confirmation. */
import { and, eq, gte, inArray, sql } from 'drizzle-orm'
import { Hono } from 'hono'
import type { Child } from 'hono/jsx'
import { getCode, listCodeChanges, listCodes } from '../codes/queries'
import { destinationRules } from '../codes/rules'
import { changeCode, createCodeFor } from '../codes/service'
import type { Db } from '../db/client'
import { type Code, merchants, payments, scanRollupHours } from '../db/schema'
import type { AppEnv } from '../env'
import { notFound } from '../errors'
import { hubFor } from '../hub/client'
import { issueLiveToken } from '../hub/live-routes'
import { decodeCursor, paginate } from '../lib/cursor'
import { publicBase, qrContent } from '../lib/urls'
import { currencyRule, formatMinor, SUPPORTED_CURRENCIES } from '../money/currency'
import { isTestMode } from '../payments/mode'
import { listPayments } from '../payments/queries'
import { forgetCode } from '../scan/resolve'
import { codeStats } from '../stats/query'
import {
  createInputOf,
  errorsOf,
  type Form,
  type FormErrors,
  readForm,
  updateInputOf,
} from './forms'
import { Counters, Funnel, ScansChart, TopList } from './insights'
import { AdminLayout } from './layout'
import { ADMIN_SUBJECT } from './session'

export const adminCodes = new Hono<AppEnv>()

const startOfUtcDay = (ms: number) => ms - (ms % 86_400_000)

async function merchantName(db: Db, merchantId: string) {
  const [row] = await db
    .select({ name: merchants.name })
    .from(merchants)
    .where(eq(merchants.id, merchantId))
  return row?.name ?? 'qrcheckout'
}

/** Codes listed per page of the admin's code list. */
export const CODES_PER_PAGE = 100
/** Code ids bound per statement: D1 takes at most 100 parameters, and each query adds one or two. */
const IDS_PER_QUERY = 90

/**
 * Human scans (from the hourly rollups: a few rows per code, not one per scan) and paid payments
 * today (UTC), per code.
 */
async function todayCounts(db: Db, codeIds: string[]) {
  const since = startOfUtcDay(Date.now())
  const groups: string[][] = []
  for (let i = 0; i < codeIds.length; i += IDS_PER_QUERY) {
    groups.push(codeIds.slice(i, i + IDS_PER_QUERY))
  }
  const counted = await Promise.all(
    groups.map((ids) =>
      Promise.all([
        db
          .select({ codeId: scanRollupHours.codeId, n: sql<number>`sum(${scanRollupHours.human})` })
          .from(scanRollupHours)
          .where(and(inArray(scanRollupHours.codeId, ids), gte(scanRollupHours.hour, since)))
          .groupBy(scanRollupHours.codeId),
        db
          .select({ codeId: payments.codeId, n: sql<number>`count(*)` })
          .from(payments)
          .where(
            and(
              inArray(payments.codeId, ids),
              gte(payments.paidAt, since),
              eq(payments.status, 'paid'),
            ),
          )
          .groupBy(payments.codeId),
      ]),
    ),
  )
  return {
    scans: new Map(counted.flatMap(([scanRows]) => scanRows.map((r) => [r.codeId, r.n]))),
    paid: new Map(counted.flatMap(([, paidRows]) => paidRows.map((r) => [r.codeId, r.n]))),
  }
}

export function amountText(code: Pick<Code, 'currency' | 'amount' | 'amountMin' | 'amountMax'>) {
  const currency = code.currency ?? 'usd'
  if (code.amount !== null) return formatMinor(code.amount, currency)
  return `${formatMinor(code.amountMin ?? 0, currency)} – ${formatMinor(code.amountMax ?? 0, currency)}`
}

/** Minor units back to what a person types in the edit form ("12.50"). */
function major(amount: number | null, currency: string | null) {
  if (amount === null) return ''
  const exponent = currencyRule(currency ?? 'usd')?.exponent ?? 2
  return (amount / 10 ** exponent).toFixed(exponent)
}

const Badge = (props: { value: string }) => (
  <span class={`badge ${props.value}`}>{props.value}</span>
)

const FieldError = (props: { errors: FormErrors; name: string }) =>
  props.errors[props.name] ? (
    <p class="error" id={`${props.name}-error`} role="alert">
      {props.errors[props.name]}
    </p>
  ) : null

adminCodes.get('/', async (c) => {
  const db = c.var.db
  const { merchantId } = c.var.admin
  const status = ['active', 'paused', 'archived'].includes(c.req.query('status') ?? '')
    ? (c.req.query('status') as Code['status'])
    : undefined
  const action = ['redirect', 'checkout'].includes(c.req.query('action') ?? '')
    ? (c.req.query('action') as Code['action'])
    : undefined
  const search = c.req.query('q')?.trim().slice(0, 100) || undefined
  const rows = await listCodes(db, merchantId, {
    status,
    action,
    search,
    limit: CODES_PER_PAGE,
    after: decodeCursor(c.req.query('after')),
  })
  const { data: codes, next_cursor: next } = paginate(rows, CODES_PER_PAGE, (r) => ({
    at: r.createdAt,
    id: r.id,
  }))
  const nextPage = next
    ? `/admin?${new URLSearchParams({
        ...(search ? { q: search } : {}),
        ...(status ? { status } : {}),
        ...(action ? { action } : {}),
        after: next,
      })}`
    : null
  const [today, name] = await Promise.all([
    todayCounts(
      db,
      codes.map((r) => r.id),
    ),
    merchantName(db, merchantId),
  ])
  return c.html(
    <AdminLayout title="Codes" section="codes" merchantName={name} testMode={isTestMode(c.env)}>
      <div class="inline bar">
        <h1>Codes</h1>
        <a class="button" href="/admin/codes/new">
          New code
        </a>
      </div>
      <form class="inline card" method="get" action="/admin">
        <div>
          <label for="q">Search</label>
          <input id="q" name="q" value={search ?? ''} placeholder="slug, description, URL…" />
        </div>
        <div>
          <label for="status">Status</label>
          <select id="status" name="status">
            {['', 'active', 'paused', 'archived'].map((s) => (
              <option value={s} selected={s === (status ?? '')}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="action">Kind</label>
          <select id="action" name="action">
            {['', 'redirect', 'checkout'].map((s) => (
              <option value={s} selected={s === (action ?? '')}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Code</th>
              <th>Status</th>
              <th class="hide">Goes to</th>
              <th class="num">Scans today</th>
              <th class="num">Paid today</th>
            </tr>
          </thead>
          <tbody>
            {codes.map((code) => (
              <tr>
                <td>
                  <a href={`/admin/codes/${code.id}`}>/{code.slug}</a>
                  <div class="muted">
                    {code.action}
                    {code.mode === 'static' ? ' · static' : ''}
                  </div>
                </td>
                <td>
                  <Badge value={code.status} />
                </td>
                <td class="hide">
                  {code.action === 'redirect' ? (
                    <span class="change">{code.destinationUrl}</span>
                  ) : (
                    `${code.description} · ${amountText(code)}`
                  )}
                </td>
                <td class="num">{today.scans.get(code.id) ?? 0}</td>
                <td class="num">
                  {code.action === 'checkout' ? (today.paid.get(code.id) ?? 0) : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nextPage ? (
        <p>
          <a href={nextPage}>Next {CODES_PER_PAGE} codes →</a>
        </p>
      ) : null}
      {codes.length ? null : <p class="muted">No codes yet. Create your first one.</p>}
    </AdminLayout>,
  )
})

/** The radios of one field: `value` is checked, or the first option when there is none yet. */
function Choice(props: {
  name: string
  value: string | undefined
  options: [value: string, label: string][]
}) {
  const current = props.value ?? props.options[0]?.[0]
  return (
    <>
      {props.options.map(([value, label]) => (
        <label>
          <input type="radio" name={props.name} value={value} checked={current === value} /> {label}
        </label>
      ))}
    </>
  )
}

/** A fixed amount, or the bounds of an open one, in major units ("4.50"), with their errors. */
function AmountFields(props: {
  values: { amount: string; amount_min: string; amount_max: string }
  errors: FormErrors
}) {
  const { values, errors } = props
  return (
    <>
      <label for="amount">Amount (e.g. 4.50)</label>
      <input id="amount" name="amount" inputmode="decimal" value={values.amount} />
      <FieldError errors={errors} name="amount" />
      <div class="inline">
        <div>
          <label for="amount_min">Minimum</label>
          <input id="amount_min" name="amount_min" inputmode="decimal" value={values.amount_min} />
        </div>
        <div>
          <label for="amount_max">Maximum</label>
          <input id="amount_max" name="amount_max" inputmode="decimal" value={values.amount_max} />
        </div>
      </div>
      <FieldError errors={errors} name="amount_min" />
      <FieldError errors={errors} name="amount_max" />
    </>
  )
}

function CodeForm(props: { form: Form; errors: FormErrors }) {
  const { form, errors } = props
  return (
    <form method="post" action="/admin/codes/new" class="card">
      {errors._ ? (
        <p class="error" role="alert">
          {errors._}
        </p>
      ) : null}
      <fieldset>
        <legend>What the code does</legend>
        <Choice
          name="action"
          value={form.action}
          options={[
            ['redirect', 'Redirect to a URL'],
            ['checkout', 'Take a payment'],
          ]}
        />
      </fieldset>
      <fieldset>
        <legend>Kind</legend>
        <Choice
          name="mode"
          value={form.mode}
          options={[
            ['dynamic', 'Dynamic: can be edited after printing'],
            ['static', 'Static: fixed forever'],
          ]}
        />
      </fieldset>
      <label for="destination_url">Destination URL (redirect codes)</label>
      <input
        id="destination_url"
        name="destination_url"
        type="url"
        value={form.destination_url ?? ''}
        placeholder="https://example.com/menu"
      />
      <FieldError errors={errors} name="destination_url" />
      <fieldset>
        <legend>Payment (checkout codes)</legend>
        <label for="description">Description</label>
        <input id="description" name="description" value={form.description ?? ''} maxlength={500} />
        <FieldError errors={errors} name="description" />
        <label for="currency">Currency</label>
        <select id="currency" name="currency">
          {SUPPORTED_CURRENCIES.map((cur) => (
            <option value={cur} selected={(form.currency ?? 'eur') === cur}>
              {cur.toUpperCase()}
            </option>
          ))}
        </select>
        <FieldError errors={errors} name="currency" />
        <Choice
          name="amount_type"
          value={form.amount_type}
          options={[
            ['fixed', 'Fixed amount'],
            ['open', 'Customer enters the amount'],
          ]}
        />
        <AmountFields
          values={{
            amount: form.amount ?? '',
            amount_min: form.amount_min ?? '',
            amount_max: form.amount_max ?? '',
          }}
          errors={errors}
        />
        <label for="max_payments">
          At most this many payments (1 = single use; empty = unlimited)
        </label>
        <input
          id="max_payments"
          name="max_payments"
          type="number"
          min="1"
          value={form.max_payments ?? ''}
        />
        <FieldError errors={errors} name="max_payments" />
      </fieldset>
      <label for="slug">Custom slug (optional)</label>
      <input id="slug" name="slug" value={form.slug ?? ''} pattern="[A-Za-z0-9_\-]{3,64}" />
      <FieldError errors={errors} name="slug" />
      <label for="expires_at">Expires (UTC, optional)</label>
      <input
        id="expires_at"
        name="expires_at"
        type="datetime-local"
        value={form.expires_at ?? ''}
      />
      <FieldError errors={errors} name="expires_at" />
      <label for="reference">Your reference (optional)</label>
      <input id="reference" name="reference" value={form.reference ?? ''} maxlength={128} />
      <p>
        <button type="submit">Create code</button>
      </p>
    </form>
  )
}

adminCodes.get('/codes/new', async (c) => {
  const name = await merchantName(c.var.db, c.var.admin.merchantId)
  return c.html(
    <AdminLayout title="New code" section="codes" merchantName={name}>
      <h1>New code</h1>
      <CodeForm form={{}} errors={{}} />
    </AdminLayout>,
  )
})

adminCodes.post('/codes/new', async (c) => {
  const form = await readForm(c.req)
  try {
    const rules = destinationRules(c.env)
    const code = await createCodeFor(c.var.db, c.var.admin.merchantId, createInputOf(form), rules)
    await forgetCode(code.slug, new URL(c.req.url).origin)
    return c.redirect(`/admin/codes/${code.id}`, 303)
  } catch (err) {
    const name = await merchantName(c.var.db, c.var.admin.merchantId)
    return c.html(
      <AdminLayout title="New code" section="codes" merchantName={name}>
        <h1>New code</h1>
        <CodeForm form={form} errors={errorsOf(err)} />
      </AdminLayout>,
      400,
    )
  }
})

/** The merchant's code or a 404 page: sessions only ever see their own merchant's codes. */
async function ownCode(c: { var: AppEnv['Variables'] }, id: string) {
  if (!/^code_[0-9A-Za-z]{1,64}$/.test(id)) return undefined
  return getCode(c.var.db, c.var.admin.merchantId, id)
}

function NotFoundPage() {
  return (
    <AdminLayout title="Not found" section="codes">
      <h1>Not found</h1>
      <p>There is no such code in your account.</p>
      <a href="/admin">Back to codes</a>
    </AdminLayout>
  )
}

const when = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`

/** Changes shown on a code's page (the API pages through all of them). */
const CHANGES_SHOWN = 50

adminCodes.get('/codes/:id', async (c) => {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<NotFoundPage />, 404)
  const db = c.var.db
  const base = publicBase(c.env, c.req.url)
  const now = Date.now()
  const [name, changeRows, recent, counters, stats] = await Promise.all([
    merchantName(db, code.merchantId),
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
      console.error('stats unavailable', code.id, err)
      return null
    }),
  ])
  const changes = paginate(changeRows, CHANGES_SHOWN, (r) => ({ at: r.changedAt, id: r.id }))
  const shortUrl = `${base}/${code.slug}`
  const size = Number(c.req.query('size')) || 512
  const ecl = ['L', 'M', 'Q', 'H'].includes(c.req.query('ecl') ?? '')
    ? (c.req.query('ecl') as string)
    : 'M'
  const fg = /^[0-9a-f]{6}$/i.test(c.req.query('fg') ?? '')
    ? (c.req.query('fg') as string)
    : '000000'
  const bg = /^[0-9a-f]{6}$/i.test(c.req.query('bg') ?? '')
    ? (c.req.query('bg') as string)
    : 'ffffff'
  const qrQuery = `size=${Math.min(Math.max(size, 64), 4096)}&ecl=${ecl}&fg=${fg}&bg=${bg}`
  const qrUrl = `/qr/${code.slug}.svg?${qrQuery}`
  const editable = code.status !== 'archived'
  return c.html(
    <AdminLayout
      title={`/${code.slug}`}
      section="codes"
      merchantName={name}
      testMode={isTestMode(c.env)}
    >
      <p>
        <a href="/admin">← Codes</a>
      </p>
      <h1>
        /{code.slug} <Badge value={code.status} />
      </h1>
      <div class="grid">
        <section class="card" aria-labelledby="qr-h">
          <h2 id="qr-h">QR code</h2>
          <img
            class="qr"
            src={qrUrl}
            alt={`QR code for ${qrContent(code, base)}`}
            width="256"
            height="256"
          />
          <p class="change">{qrContent(code, base)}</p>
          <p class="actions">
            <a class="button secondary" href={`${qrUrl}&download=1`}>
              Download SVG
            </a>
            <button
              type="button"
              class="secondary"
              hidden
              data-png={qrUrl}
              data-size={String(size)}
              data-filename={`qr-${code.slug}.png`}
            >
              Download PNG
            </button>
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
              <input id="fg" name="fg" value={fg} pattern="[0-9a-fA-F]{6}" size={7} />
            </div>
            <div>
              <label for="bg">Background</label>
              <input id="bg" name="bg" value={bg} pattern="[0-9a-fA-F]{6}" size={7} />
            </div>
            <button type="submit" class="secondary">
              Preview
            </button>
          </form>
        </section>
        <section class="card" aria-labelledby="url-h">
          <h2 id="url-h">Short URL</h2>
          <p>
            <a href={shortUrl}>{shortUrl}</a>{' '}
            <button type="button" class="secondary" hidden data-copy={shortUrl}>
              Copy
            </button>
          </p>
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
          {editable ? (
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
})

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

export function PaymentRows(props: { rows: Awaited<ReturnType<typeof listPayments>> }) {
  if (!props.rows.length) return <p class="muted">No payments yet.</p>
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Status</th>
            <th class="num">Amount</th>
            <th class="hide">Payment</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((p) => (
            <tr>
              <td>{when(p.createdAt)}</td>
              <td>
                <Badge value={p.status} />
              </td>
              <td class="num">{formatMinor(p.amount, p.currency)}</td>
              <td class="hide">
                <a href={`/admin/payments/${p.id}`}>{p.id}</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

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

/** A live-feed token for this page: it names the session, so signing out ends what it opens. */
adminCodes.post('/codes/:id/live-token', async (c) => {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) throw notFound('code')
  const subject = `${ADMIN_SUBJECT}${c.var.admin.sessionHash}`
  return c.json(await issueLiveToken(c.env, code, subject, c.req.url), 201)
})

adminCodes.post('/codes/:id/status', async (c) => {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<NotFoundPage />, 404)
  const form = await readForm(c.req)
  const status = form.status
  if (status !== 'active' && status !== 'paused' && status !== 'archived') {
    return c.redirect(`/admin/codes/${code.id}`, 303)
  }
  const refused = (message: string, httpStatus: 400 | 409) =>
    c.html(
      <AdminLayout title={`/${code.slug}`} section="codes">
        <h1>/{code.slug}</h1>
        <p class="error" role="alert">
          {message}
        </p>
        <p>
          <a href={`/admin/codes/${code.id}`}>Back to the code</a>
        </p>
      </AdminLayout>,
      httpStatus,
    )
  // A button on a page opened before another change must not act on what it did not show.
  if (form.version !== String(code.version)) {
    return refused(
      `The code changed since you opened its page (it is ${code.status} now). Nothing was changed: check it and try again.`,
      409,
    )
  }
  try {
    await changeCode(c.var.db, code, { status }, c.var.admin.actor)
  } catch (err) {
    const errors = errorsOf(err)
    return refused(errors._ ?? Object.values(errors)[0] ?? 'Nothing was changed.', 409)
  }
  await forgetCode(code.slug, new URL(c.req.url).origin)
  return c.redirect(`/admin/codes/${code.id}`, 303)
})

function EditForm(props: { code: Code; form: Form; errors: FormErrors }) {
  const { code, form, errors } = props
  const open = (form.amount_type ?? (code.amount === null ? 'open' : 'fixed')) === 'open'
  const value = (name: string, fallback: string) => form[name] ?? fallback
  return (
    <form method="post" action={`/admin/codes/${code.id}/edit`} class="card">
      {errors._ ? (
        <p class="error" role="alert">
          {errors._}
        </p>
      ) : null}
      <input type="hidden" name="version" value={String(code.version)} />
      {code.action === 'redirect' ? (
        <>
          <label for="destination_url">Destination URL</label>
          <input
            id="destination_url"
            name="destination_url"
            type="url"
            value={value('destination_url', code.destinationUrl ?? '')}
            required
          />
          <FieldError errors={errors} name="destination_url" />
        </>
      ) : (
        <>
          <label for="description">Description</label>
          <input
            id="description"
            name="description"
            value={value('description', code.description ?? '')}
            required
          />
          <FieldError errors={errors} name="description" />
          <fieldset>
            <legend>Amount ({(code.currency ?? '').toUpperCase()})</legend>
            <Choice
              name="amount_type"
              value={open ? 'open' : 'fixed'}
              options={[
                ['fixed', 'Fixed'],
                ['open', 'Customer enters it'],
              ]}
            />
            <AmountFields
              values={{
                amount: value('amount', major(code.amount, code.currency)),
                amount_min: value('amount_min', major(code.amountMin, code.currency)),
                amount_max: value('amount_max', major(code.amountMax, code.currency)),
              }}
              errors={errors}
            />
          </fieldset>
          <label for="max_payments">At most this many payments (empty = unlimited)</label>
          <input
            id="max_payments"
            name="max_payments"
            type="number"
            min="1"
            value={value('max_payments', code.maxPayments?.toString() ?? '')}
          />
          <FieldError errors={errors} name="max_payments" />
        </>
      )}
      <label for="expires_at">Expires (UTC, empty = never)</label>
      <input
        id="expires_at"
        name="expires_at"
        type="datetime-local"
        value={value(
          'expires_at',
          code.expiresAt ? new Date(code.expiresAt).toISOString().slice(0, 16) : '',
        )}
      />
      <FieldError errors={errors} name="expires_at" />
      <p>
        <button type="submit">Review changes</button>
      </p>
    </form>
  )
}

adminCodes.get('/codes/:id/edit', async (c) => {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<NotFoundPage />, 404)
  return c.html(
    <AdminLayout title={`Edit /${code.slug}`} section="codes">
      <p>
        <a href={`/admin/codes/${code.id}`}>← /{code.slug}</a>
      </p>
      <h1>Edit /{code.slug}</h1>
      {code.mode === 'static' ? (
        <p class="notice">
          This code is static: its content is fixed. You can still pause, archive or change its
          expiry.
        </p>
      ) : null}
      <EditForm code={code} form={{}} errors={{}} />
    </AdminLayout>,
  )
})

/** Only the fields that differ from the code go into the patch; the rest were just redisplayed. */
function diffPatch(code: Code, patch: ReturnType<typeof updateInputOf>) {
  const out: Record<string, unknown> = {}
  const current: Record<string, unknown> = {
    destination_url: code.destinationUrl,
    description: code.description,
    amount: code.amount,
    amount_min: code.amountMin,
    amount_max: code.amountMax,
    expires_at:
      code.expiresAt === null ? null : new Date(code.expiresAt).toISOString().slice(0, 16),
    max_payments: code.maxPayments,
  }
  for (const [key, value] of Object.entries(patch)) {
    const mine = key === 'expires_at' && typeof value === 'string' ? value.slice(0, 16) : value
    if (mine !== undefined && mine !== current[key]) out[key] = value
  }
  return out as ReturnType<typeof updateInputOf>
}

adminCodes.post('/codes/:id/edit', async (c) => {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<NotFoundPage />, 404)
  const form = await readForm(c.req)
  const page = (errors: FormErrors, status: 400 | 409) =>
    c.html(
      <AdminLayout title={`Edit /${code.slug}`} section="codes">
        <h1>Edit /{code.slug}</h1>
        <EditForm code={code} form={form} errors={errors} />
      </AdminLayout>,
      status,
    )
  if (form.version !== String(code.version)) {
    return page(
      { _: 'The code changed since you opened this form. Check its current values and try again.' },
      409,
    )
  }
  let patch: ReturnType<typeof updateInputOf>
  try {
    patch = diffPatch(code, updateInputOf(form, code.currency))
  } catch (err) {
    return page(errorsOf(err), 400)
  }
  const sensitive = ['destination_url', 'amount', 'amount_min', 'amount_max'].filter(
    (k) => k in patch,
  )
  if (sensitive.length && form.confirm !== 'yes') {
    // Where money goes or how much is taken: ask once more, showing old → new.
    const old: Record<string, string> = {
      destination_url: code.destinationUrl ?? '—',
      amount: code.amount === null ? '—' : formatMinor(code.amount, code.currency ?? 'usd'),
      amount_min:
        code.amountMin === null ? '—' : formatMinor(code.amountMin, code.currency ?? 'usd'),
      amount_max:
        code.amountMax === null ? '—' : formatMinor(code.amountMax, code.currency ?? 'usd'),
    }
    const next = (k: string) => {
      const v = (patch as Record<string, unknown>)[k]
      return k === 'destination_url'
        ? String(v ?? '—')
        : v == null
          ? '—'
          : formatMinor(Number(v), code.currency ?? 'usd')
    }
    return c.html(
      <AdminLayout title="Confirm change" section="codes">
        <h1>Confirm the change to /{code.slug}</h1>
        <div class="card">
          <p>Everyone who scans this code from now on will see the new value.</p>
          <table>
            <tbody>
              {sensitive.map((k) => (
                <tr>
                  <th>{k}</th>
                  <td class="change">
                    {old[k]} → {next(k)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form method="post" action={`/admin/codes/${code.id}/edit`}>
            {Object.entries(form)
              .filter(([k]) => k !== 'confirm')
              .map(([k, v]) => (
                <input type="hidden" name={k} value={v} />
              ))}
            <input type="hidden" name="confirm" value="yes" />
            <p class="actions">
              <button type="submit">Confirm change</button>
              <a class="button secondary" href={`/admin/codes/${code.id}`}>
                Cancel
              </a>
            </p>
          </form>
        </div>
      </AdminLayout>,
    )
  }
  try {
    const rules = destinationRules(c.env)
    if (Object.keys(patch).length) await changeCode(c.var.db, code, patch, c.var.admin.actor, rules)
  } catch (err) {
    return page(errorsOf(err), 409)
  }
  await forgetCode(code.slug, new URL(c.req.url).origin)
  return c.redirect(`/admin/codes/${code.id}`, 303)
})
