/** The admin's frame: navigation, our stylesheet and our one script. */
import type { Child } from 'hono/jsx'
import { Document } from '../pages/layout'
import { ADMIN_CSS_PATH, ADMIN_JS_PATH } from './assets'

export type Section = 'codes' | 'payments' | 'settings' | 'none'

export function AdminLayout(props: {
  title: string
  section: Section
  merchantName?: string
  testMode?: boolean
  children: Child
}) {
  const link = (href: string, section: Section, label: string) => (
    <a href={href} aria-current={props.section === section ? 'page' : undefined}>
      {label}
    </a>
  )
  return (
    <Document
      title={`${props.title} · qrcheckout admin`}
      head={
        <>
          <link rel="stylesheet" href={ADMIN_CSS_PATH} />
          <script src={ADMIN_JS_PATH} defer />
        </>
      }
    >
      {props.section !== 'none' ? (
        <header>
          <strong>{props.merchantName ?? 'qrcheckout'}</strong>
          {link('/admin', 'codes', 'Codes')}
          {link('/admin/payments', 'payments', 'Payments')}
          {link('/admin/settings', 'settings', 'Settings')}
          <form method="post" action="/admin/logout">
            <button class="secondary" type="submit">
              Sign out
            </button>
          </form>
        </header>
      ) : null}
      {props.testMode ? (
        <p class="notice" role="status">
          TEST MODE: payments go through the offline test provider; no real money moves.
        </p>
      ) : null}
      <main>{props.children}</main>
    </Document>
  )
}
