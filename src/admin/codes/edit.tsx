/**
 * `/admin/codes/{id}/edit`: the edit form and its post. A change to where money goes or how much
 * is taken is shown old → new and asked once more before it is saved.
 */
import type { Context } from 'hono'
import { forgetCode } from '../../codes/cache'
import { destinationRules } from '../../codes/rules'
import { changeCode } from '../../codes/service'
import type { Code } from '../../db/schema'
import type { AppEnv } from '../../env'
import { currencyRule, formatMinor } from '../../money/currency'
import { FieldError } from '../components'
import { errorsOf, type Form, type FormErrors, readForm, updateInputOf } from '../forms'
import { AdminLayout } from '../layout'
import { AmountFields, Choice } from './fields'
import { CodeNotFound, ownCode } from './own-code'

type Patch = ReturnType<typeof updateInputOf>

/** Fields whose change is confirmed first: where money goes, or how much is taken. */
const SENSITIVE = ['destination_url', 'amount', 'amount_min', 'amount_max']

export async function showEditForm(c: Context<AppEnv, '/codes/:id/edit'>) {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<CodeNotFound />, 404)
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
}

export async function saveEdit(c: Context<AppEnv, '/codes/:id/edit'>) {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<CodeNotFound />, 404)
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
  let patch: Patch
  try {
    patch = diffPatch(code, updateInputOf(form, code.currency))
  } catch (err) {
    return page(errorsOf(err), 400)
  }
  const sensitive = SENSITIVE.filter((k) => k in patch)
  if (sensitive.length && form.confirm !== 'yes') {
    return c.html(<ConfirmChange code={code} form={form} patch={patch} fields={sensitive} />)
  }
  try {
    const rules = destinationRules(c.env)
    if (Object.keys(patch).length) await changeCode(c.var.db, code, patch, c.var.admin.actor, rules)
  } catch (err) {
    return page(errorsOf(err), 409)
  }
  await forgetCode(code.slug, new URL(c.req.url).origin)
  return c.redirect(`/admin/codes/${code.id}`, 303)
}

/** Only the fields that differ from the code go into the patch; the rest were just redisplayed. */
function diffPatch(code: Code, patch: Patch) {
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
  return out as Patch
}

/** Minor units back to what a person types in the edit form ("12.50"). */
function major(amount: number | null, currency: string | null) {
  if (amount === null) return ''
  const exponent = currencyRule(currency ?? 'usd')?.exponent ?? 2
  return (amount / 10 ** exponent).toFixed(exponent)
}

/** The code's current values, or what was sent with the errors that sent it back. */
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

/** Asks once more for a change to `fields`, showing old → new; confirming resends the form. */
function ConfirmChange(props: { code: Code; form: Form; patch: Patch; fields: string[] }) {
  const { code, form } = props
  const currency = code.currency ?? 'usd'
  const old: Record<string, string> = {
    destination_url: code.destinationUrl ?? '—',
    amount: code.amount === null ? '—' : formatMinor(code.amount, currency),
    amount_min: code.amountMin === null ? '—' : formatMinor(code.amountMin, currency),
    amount_max: code.amountMax === null ? '—' : formatMinor(code.amountMax, currency),
  }
  const next = (k: string) => {
    const v = (props.patch as Record<string, unknown>)[k]
    return k === 'destination_url'
      ? String(v ?? '—')
      : v == null
        ? '—'
        : formatMinor(Number(v), currency)
  }
  return (
    <AdminLayout title="Confirm change" section="codes">
      <h1>Confirm the change to /{code.slug}</h1>
      <div class="card">
        <p>Everyone who scans this code from now on will see the new value.</p>
        <table>
          <tbody>
            {props.fields.map((k) => (
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
    </AdminLayout>
  )
}
