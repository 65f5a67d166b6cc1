/**
 * What `npm run dev` writes to `.dev.vars` (gitignored; `.dev.vars.example` lists every secret and
 * variable): each local secret a fresh random value, and `ENVIRONMENT=development`, since
 * wrangler.toml ships "production" so that a deploy fails closed. Each is added when missing and
 * filled in when present but empty, as in a copy of the example; a value already there (even
 * `ENVIRONMENT=production`, to try production locally) and every other line stay as they are.
 */
export const DEV_SECRETS = ['VISITOR_HASH_SECRET', 'SESSION_SECRET', 'LIVE_TOKEN_SECRET']

/** Variables a local run needs other than wrangler.toml's, with the value dev writes. */
export const DEV_VARS: Record<string, string> = { ENVIRONMENT: 'development' }

const NEW_FILE =
  '# Local secrets and variables for wrangler dev (not committed; see .dev.vars.example).\n'

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')

/** `text` (the current `.dev.vars`, if any) with every dev secret and variable set, and those it set. */
export function withDevVars(text: string | undefined): { text: string; written: string[] } {
  let out = text ?? NEW_FILE
  const written: string[] = []
  const wanted: [string, () => string][] = [
    ...DEV_SECRETS.map((name): [string, () => string] => [name, randomSecret]),
    ...Object.entries(DEV_VARS).map(([name, value]): [string, () => string] => [name, () => value]),
  ]
  for (const [name, value] of wanted) {
    // As wrangler's dotenv reads the file: "NAME=v", "NAME = v", "export NAME=v".
    const line = new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=(.*)$`, 'm')
    const found = line.exec(out)
    if (found && !/^\s*(?:""|'')?\s*(?:#.*)?$/.test(found[1] ?? '')) continue
    if (found) out = out.replace(line, `${name}=${value()}`)
    else out += `${out.endsWith('\n') ? '' : '\n'}${name}=${value()}\n`
    written.push(name)
  }
  return { text: out, written }
}
