/**
 * The admin's stylesheet and its one small script, served by us under content-hashed URLs. The
 * script only adds comfort (copy, live updates); every screen works without it.
 */
import { fingerprint } from '../pages/styles'

export const ADMIN_CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1d21;background:#f4f5f7}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.75rem 1rem;background:#fff;border-bottom:1px solid #e1e4e8}
header strong{font-size:1.05rem;margin-right:auto}
header a{color:#1a1d21;text-decoration:none;padding:.25rem .1rem;border-bottom:2px solid transparent}
header a[aria-current=page]{border-color:#0b57d0;font-weight:600}
header form{margin:0}
main{max-width:72rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.4rem;margin:.25rem 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:#0b57d0}
.card{background:#fff;border-radius:12px;padding:1rem 1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.08);margin-bottom:1rem}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr))}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid #eceef1;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:#5b6370}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.muted{color:#5b6370}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;background:#e6e9ee}
.badge.active,.badge.paid,.badge.succeeded,.badge.won{background:#e3f4e8;color:#17623a}
.badge.paused,.badge.pending,.badge.processing,.badge.partially_refunded,.badge.refunded,.badge.needs_response,.badge.under_review,.badge.warning_needs_response,.badge.warning_under_review{background:#fff4d6;color:#7a5200}
.badge.archived,.badge.failed,.badge.expired,.badge.canceled,.badge.lost{background:#fde7e6;color:#8c1d18}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input,select,textarea{width:100%;max-width:32rem;font:inherit;padding:.5rem .6rem;border:1px solid #8a919c;border-radius:8px;background:#fff;color:#1a1d21}
input[type=radio],input[type=checkbox]{width:auto}
fieldset{border:1px solid #e1e4e8;border-radius:8px;margin:.75rem 0;padding:.5rem .9rem}
legend{font-weight:600}
.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.bar{justify-content:space-between;align-items:center}
.inline label{margin:0}
.inline input,.inline select{width:auto}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.5rem .9rem;border-radius:8px;border:0;background:#0b57d0;color:#fff;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#e6e9ee;color:#1a1d21}
button.danger{background:#b3261e}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.error{color:#b3261e;font-weight:600}
.notice{background:#e8f0fe;border-radius:8px;padding:.75rem 1rem}
.secret{font-family:ui-monospace,monospace;word-break:break-all;background:#fff4d6;padding:.5rem;border-radius:6px}
.qr{width:100%;max-width:16rem;height:auto;background:#fff;border:1px solid #e1e4e8}
.stat{font-size:1.8rem;font-weight:700;font-variant-numeric:tabular-nums}
.counters{grid-template-columns:repeat(auto-fit,minmax(8rem,1fr))}
.feed{list-style:none;margin:0;padding:0;max-height:16rem;overflow:auto}
.feed li{padding:.3rem 0;border-bottom:1px solid #eceef1;font-size:.9rem}
.chart{width:100%;height:auto}
.chart rect{fill:#0b57d0}.chart rect.bot{fill:#b8c3d6}.chart text{font-size:10px;fill:#5b6370}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
.actions form{margin:0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:.5rem 0}dt{color:#5b6370}dd{margin:0;overflow-wrap:anywhere}
.change{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
@media (max-width:40rem){th.hide,td.hide{display:none}}
`.trim()

export const ADMIN_JS = `
(() => {
  for (const button of document.querySelectorAll('[data-copy]')) {
    button.hidden = false
    button.addEventListener('click', async () => {
      await navigator.clipboard.writeText(button.dataset.copy)
      button.textContent = 'Copied'
    })
  }
  const live = document.querySelector('[data-live]')
  if (live) {
    const feed = live.querySelector('.feed')
    const show = (counters) => {
      for (const el of live.querySelectorAll('[data-count]')) {
        const value = counters[el.dataset.count]
        if (value !== undefined) el.textContent = String(value)
      }
    }
    const line = (event) => {
      const when = new Date(event.at).toLocaleTimeString()
      if (event.type === 'payment') return when + ' · payment ' + event.status
      const where = [event.city, event.country].filter(Boolean).join(', ') || 'unknown place'
      return when + ' · ' + where + ' · ' + event.device + (event.is_bot ? ' · bot' : '')
    }
    const connect = async () => {
      const res = await fetch(live.dataset.live, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      if (!res.ok) return
      const ws = new WebSocket((await res.json()).url)
      ws.onmessage = (message) => {
        const data = JSON.parse(message.data)
        if (data.counters) show(data.counters)
        for (const event of data.events || []) {
          const li = document.createElement('li')
          li.textContent = line(event)
          feed.prepend(li)
          while (feed.children.length > 50) feed.lastChild.remove()
        }
        live.dataset.state = 'live'
      }
      ws.onclose = () => setTimeout(connect, 3000)
    }
    connect()
  }
})()
`.trim()

export const ADMIN_CSS_PATH = `/assets/admin.${fingerprint(ADMIN_CSS)}.css`
export const ADMIN_JS_PATH = `/assets/admin.${fingerprint(ADMIN_JS)}.js`
