/** The frame of every customer page: no script, one stylesheet of ours, nothing third-party. */
import type { Child } from 'hono/jsx'
import { CSS_PATH } from './styles'

export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <link rel="stylesheet" href={CSS_PATH} />
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  )
}

/** A page that explains a status to a customer: unknown code, paused, gone, or our own failure. */
export function StatusPage(props: { icon: string; title: string; message: string }) {
  return (
    <Layout title={props.title}>
      <div class="card">
        <p class="status" aria-hidden="true">
          {props.icon}
        </p>
        <h1>{props.title}</h1>
        <p class="muted">{props.message}</p>
      </div>
      <footer>qrcheckout</footer>
    </Layout>
  )
}
