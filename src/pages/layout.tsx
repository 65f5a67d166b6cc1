/** The frame of every customer page: no script, one stylesheet of ours, nothing third-party. */
import { raw } from 'hono/html'
import type { Child } from 'hono/jsx'
import { Icon, type IconName } from './icons'
import { CSS_PATH } from './styles'

export interface LayoutProps {
  title: string
  children: Child
  /** Payments run through the offline test-mode provider: say so on every page. */
  testMode?: boolean
  /** Reload after this many seconds (a payment still confirming), without any script. */
  refreshSeconds?: number
  /** Where the refresh goes (same page when absent). */
  refreshUrl?: string
}

/**
 * The HTML document every page of ours shares: standards mode, a language, mobile viewport, never
 * indexed, and an empty icon so browsers do not ask for /favicon.ico.
 */
export function Document(props: { title: string; head?: Child; children: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>{props.title}</title>
          <link rel="icon" href="data:," />
          {props.head}
        </head>
        <body>{props.children}</body>
      </html>
    </>
  )
}

export function Layout(props: LayoutProps) {
  return (
    <Document
      title={props.testMode ? `[TEST MODE] ${props.title}` : props.title}
      head={
        <>
          {props.refreshSeconds ? (
            <meta
              http-equiv="refresh"
              content={
                props.refreshUrl
                  ? `${props.refreshSeconds};url=${props.refreshUrl}`
                  : String(props.refreshSeconds)
              }
            />
          ) : null}
          <link rel="stylesheet" href={CSS_PATH} />
        </>
      }
    >
      {props.testMode ? (
        <p class="test-banner" role="status">
          TEST MODE — no real money moves
        </p>
      ) : null}
      <main>{props.children}</main>
    </Document>
  )
}

export interface StatusPageProps {
  icon: IconName
  title: string
  message: string
  testMode?: boolean
  refreshSeconds?: number
  refreshUrl?: string
  /** An optional way on: a link with its label. */
  action?: { href: string; label: string }
}

/** A page that explains a status to a customer: unknown code, paused, gone, or our own failure. */
export function StatusPage(props: StatusPageProps) {
  return (
    <Layout
      title={props.title}
      testMode={props.testMode}
      refreshSeconds={props.refreshSeconds}
      refreshUrl={props.refreshUrl}
    >
      <div class="card">
        <p class="status">
          <Icon name={props.icon} />
        </p>
        <h1>{props.title}</h1>
        <p class="muted">{props.message}</p>
        {props.action ? (
          <p>
            <a class="button secondary" href={props.action.href}>
              {props.action.label}
            </a>
          </p>
        ) : null}
      </div>
      <footer>qrcheckout</footer>
    </Layout>
  )
}
