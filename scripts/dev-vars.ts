/**
 * The local secrets `npm run dev` writes to `.dev.vars` (gitignored; `.dev.vars.example` lists
 * every secret and variable): each a fresh random value, added when missing and filled in when
 * present but empty, as in a copy of the example. Other lines stay as they are.
 */
export const DEV_SECRETS = ['VISITOR_HASH_SECRET', 'SESSION_SECRET', 'LIVE_TOKEN_SECRET']

const NEW_FILE = '# Local secrets for wrangler dev (not committed; see .dev.vars.example).\n'

/** `text` (the current `.dev.vars`, if any) with every dev secret set, and the ones it set. */
export function withDevSecrets(text: string | undefined): { text: string; written: string[] } {
  let out = text ?? NEW_FILE
  const written: string[] = []
  for (const name of DEV_SECRETS) {
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    // As wrangler's dotenv reads the file: "NAME=v", "NAME = v", "export NAME=v".
    const line = new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=(.*)$`, 'm')
    const found = line.exec(out)
    if (found && !/^\s*(?:""|'')?\s*(?:#.*)?$/.test(found[1] ?? '')) continue
    if (found) out = out.replace(line, `${name}=${secret}`)
    else out += `${out.endsWith('\n') ? '' : '\n'}${name}=${secret}\n`
    written.push(name)
  }
  return { text: out, written }
}
