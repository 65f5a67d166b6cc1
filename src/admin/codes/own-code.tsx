/** Finding the signed-in merchant's code for a code URL, and the page for when there is none. */

import { getCode } from '../../codes/queries'
import type { AppEnv } from '../../env'
import { AdminLayout } from '../layout'

/** The merchant's code, or undefined: sessions only ever see their own merchant's codes. */
export async function ownCode(c: { var: AppEnv['Variables'] }, id: string) {
  if (!/^code_[0-9A-Za-z]{1,64}$/.test(id)) return undefined
  return getCode(c.var.db, c.var.admin.merchantId, id)
}

export function CodeNotFound() {
  return (
    <AdminLayout title="Not found" section="codes">
      <h1>Not found</h1>
      <p>There is no such code in your account.</p>
      <a href="/admin">Back to codes</a>
    </AdminLayout>
  )
}
