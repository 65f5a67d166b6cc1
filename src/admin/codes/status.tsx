/** `POST /admin/codes/{id}/status`: the pause, resume and archive buttons of a code's page. */
import type { Context } from 'hono'
import { forgetCode } from '../../codes/cache'
import { changeCode } from '../../codes/service'
import type { AppEnv } from '../../env'
import { errorsOf, readForm } from '../forms'
import { AdminLayout } from '../layout'
import { CodeNotFound, ownCode } from './own-code'

export async function changeCodeStatus(c: Context<AppEnv, '/codes/:id/status'>) {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) return c.html(<CodeNotFound />, 404)
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
}
