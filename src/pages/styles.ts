/**
 * The one stylesheet, served by us with a content hash in its URL so it can be cached forever.
 * Small on purpose: checkout pages must stay under 10 KB compressed in total.
 */
import { CSS_PREFIX } from '../lib/paths'

export const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1d21;background:#f4f5f7}
main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem 3rem}
.card{background:#fff;border-radius:14px;padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.35rem;line-height:1.3;margin:.75rem 0 .5rem}
p{margin:.5rem 0}
.muted{color:#5b6370;font-size:.95rem}
.payee-line{margin:.25rem 0;font-size:1.1rem;overflow-wrap:anywhere}h1.payee-line{font-size:1.35rem}
.payee{font-weight:600}
.unverified{display:inline-block;padding:0 .45rem;border:1px solid #8a919c;border-radius:6px;color:#5b6370;font-size:.8rem;font-weight:600;vertical-align:middle;white-space:nowrap}
.verified{display:inline-flex;align-items:center;gap:.4rem;max-width:100%;margin:.25rem 0 0;padding:.2rem .65rem .2rem .3rem;border:1px solid #17623a;border-radius:999px;background:#e8f3ec;color:#17623a;font-size:.85rem;line-height:1.3}
.verified .mark{flex:none}.mark circle{fill:#17623a}.mark path{fill:none;stroke:#fff;stroke-width:2.4;stroke-linecap:round;stroke-linejoin:round}
.verified-word{font-weight:700}
.verified-domain{padding-left:.45rem;border-left:1px solid currentColor;font:600 .85rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.amount{font-size:2.25rem;font-weight:700;letter-spacing:-.01em;margin:1rem 0 .25rem}
.status{margin:0 0 .75rem}.status svg{display:block;width:3rem;height:3rem;color:#5b6370}.status .i-check{color:#17623a}.status .i-warning,.status .i-cross{color:#b3261e}
a{color:#0b57d0}
label{display:block;font-weight:600;margin:1rem 0 .35rem}
input{width:100%;font:inherit;font-size:1.25rem;padding:.65rem .75rem;border:1px solid #8a919c;border-radius:10px;background:#fff;color:#1a1d21}
input:focus,.button:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.button{display:block;width:100%;margin-top:1.25rem;padding:.9rem 1rem;border:0;border-radius:12px;background:#0b57d0;color:#fff;font:inherit;font-size:1.1rem;font-weight:600;text-align:center;text-decoration:none;cursor:pointer}
.button.secondary{background:#e6e9ee;color:#1a1d21}
.button.danger{background:#b3261e}
.error{color:#b3261e;font-weight:600}
.test-banner{margin:0;padding:.5rem;text-align:center;background:#ffd54f;color:#1a1d21;font-weight:700;letter-spacing:.04em}
dl{display:grid;grid-template-columns:auto 1fr;gap:.35rem 1rem;margin:1rem 0}
dt{color:#5b6370}dd{margin:0;font-weight:600;overflow-wrap:anywhere}
@media print{body{background:#fff}.card{box-shadow:none}.noprint,.test-banner{display:none}}
footer{margin-top:1.5rem;text-align:center;font-size:.8rem;color:#5b6370}
@media screen and (prefers-color-scheme:dark){body{background:#111316;color:#e8eaed}.card{background:#1c1f24;box-shadow:none}.muted,footer,dt{color:#a3aab5}input{background:#111316;color:#e8eaed}.button.secondary{background:#2c3038;color:#e8eaed}.verified{background:#173524;color:#8fd6a8;border-color:#8fd6a8}.mark circle{fill:#8fd6a8}.mark path{stroke:#173524}.unverified{color:#a3aab5}.error{color:#f2b8b5}.status svg{color:#a3aab5}.status .i-check{color:#8fd6a8}.status .i-warning,.status .i-cross{color:#f2b8b5}a{color:#8ab4f8}input:focus,.button:focus-visible{outline-color:#8ab4f8}}
`.trim()

/** FNV-1a, enough to give the stylesheet URL a new name whenever the CSS changes. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(36)
}

export const CSS_PATH = `${CSS_PREFIX}${fingerprint(CSS)}.css`
