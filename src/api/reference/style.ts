/**
 * The API reference's stylesheet, served by us under a content hash like the pages' own: wider
 * than a checkout page, fields as indented lists, and a column of links beside the operations.
 */
import { fingerprint } from '../../pages/styles'

export const REFERENCE_CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1d21;background:#f4f5f7}
code,pre{font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{overflow-wrap:anywhere}
a{color:#0b57d0}
.top{padding:1.5rem 1.25rem 1rem;background:#fff;border-bottom:1px solid #dde1e6}
.top h1{margin:0 0 .5rem;font-size:1.6rem}
.version{font-size:.9rem;font-weight:600;color:#5b6370}
.columns{display:flex;align-items:flex-start;max-width:80rem;margin:0 auto}
nav{position:sticky;top:0;flex:0 0 17rem;max-height:100vh;overflow:auto;padding:1rem 1.25rem;font-size:.9rem}
nav ul{list-style:none;margin:0;padding:0}
nav li{margin:.2rem 0}
nav li li a{display:block;padding:.1rem 0;text-decoration:none;color:#1a1d21}
nav li li a:hover{text-decoration:underline}
nav>ul>li{margin-top:.8rem}
nav>ul>li>a{font-weight:700}
main{flex:1;min-width:0;padding:1rem 1.25rem 3rem}
h2{margin:2rem 0 .75rem;font-size:1.35rem;border-bottom:2px solid #dde1e6;padding-bottom:.25rem}
h3{margin:0 0 .5rem;font-size:1.05rem;overflow-wrap:anywhere}
h4{margin:1rem 0 .35rem;font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:#4a515c}
p{margin:.35rem 0}
.operation,.schema,.scheme{background:#fff;border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.08);scroll-margin-top:1rem}
.summary{font-weight:600}
.deprecated{color:#8a4b00;font-weight:600}
.muted{color:#5b6370}
.method{display:inline-block;min-width:3.6rem;padding:0 .35rem;border-radius:4px;font:700 .75rem/1.6 ui-monospace,Menlo,Consolas,monospace;text-align:center;color:#fff;background:#4a515c}
.method.get{background:#17623a}.method.post{background:#0b57d0}.method.patch,.method.put{background:#8a4b00}.method.delete{background:#b3261e}
.anchor{text-decoration:none;color:#5b6370;font-weight:400}
.anchor:hover{color:#0b57d0}
.fields{list-style:none;margin:.35rem 0;padding:0}
.fields>li{padding:.45rem 0;border-top:1px solid #e6e9ee}
.fields .fields{margin:.35rem 0 0 .2rem;padding-left:.75rem;border-left:2px solid #dde1e6}
.field{margin:0}
.type{color:#4a515c;font-size:.9rem}
.required{color:#b3261e;font-size:.75rem;font-weight:600}
.facts{list-style:none;margin:.2rem 0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem .75rem;font-size:.85rem;color:#4a515c}
.responses{display:grid;grid-template-columns:auto 1fr;gap:.35rem .75rem;margin:.35rem 0}
.responses dd{margin:0;min-width:0}
.status{display:inline-block;padding:0 .4rem;border-radius:4px;font:700 .8rem/1.6 ui-monospace,Menlo,Consolas,monospace;background:#e6e9ee;color:#1a1d21}
.status.s2{background:#e8f3ec;color:#17623a}.status.s4{background:#fdecea;color:#8c1d18}.status.s5{background:#fdecea;color:#8c1d18}
.media{margin:.25rem 0 .5rem}
.variants ol,.variants ul{margin:.25rem 0;padding-left:1.25rem}
pre{margin:.35rem 0;padding:.75rem;border-radius:8px;background:#f4f5f7;overflow:auto}
a:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
@media (max-width:50rem){.columns{display:block}nav{position:static;max-height:none;border-bottom:1px solid #dde1e6}}
@media screen and (prefers-color-scheme:dark){body{background:#111316;color:#e8eaed}.top,.operation,.schema,.scheme{background:#1c1f24;box-shadow:none;border-color:#2c3038}nav li li a{color:#e8eaed}a{color:#8ab4f8}.muted,.version,h4,.type,.facts,.anchor{color:#a3aab5}.fields>li,.fields .fields{border-color:#2c3038}pre{background:#111316}.status{background:#2c3038;color:#e8eaed}.status.s2{background:#173524;color:#8fd6a8}.status.s4,.status.s5{background:#3b1614;color:#f2b8b5}.required{color:#f2b8b5}.deprecated{color:#ffb870}}
`.trim()

export const REFERENCE_CSS_PATH = `/docs/reference.${fingerprint(REFERENCE_CSS)}.css`
