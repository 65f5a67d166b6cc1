/** `POST /admin/codes/{id}/live-token`: what the code page's script opens its live feed with. */
import type { Context } from 'hono'
import { ADMIN_SUBJECT } from '../../auth/sessions'
import type { AppEnv } from '../../env'
import { notFound } from '../../errors'
import { issueLiveToken } from '../../hub/live-routes'
import { ownCode } from './own-code'

/** The token names the session, so signing out ends what it opens. */
export async function issueCodeLiveToken(c: Context<AppEnv, '/codes/:id/live-token'>) {
  const code = await ownCode(c, c.req.param('id'))
  if (!code) throw notFound('code')
  const subject = `${ADMIN_SUBJECT}${c.var.admin.sessionHash}`
  return c.json(await issueLiveToken(c.env, code, subject, c.req.url), 201)
}
