/**
 * The merchant's name: what customers read as "who is paid". On top of the rules every customer
 * text follows (lib/text.ts), a name may not pass itself off as what only verification shows: a
 * domain (unless it is the merchant's own verified one) or a verification mark. The rules and
 * their reasons are in docs/trust.md; the admin's Settings and `merchant:create` both use them.
 */
import { normalizeDomain } from '../lib/domain'
import { customerText, ruleOf } from '../lib/text'
import { BIDI_CONTROLS } from '../lib/text-rules'

export const MERCHANT_NAME_MAX = 100

export type NameRule = 'name_looks_like_domain' | 'name_verification_mark'

/**
 * Marks a customer takes for "checked by someone": check marks (✓ ✔ ✅ ☑ 🗸 🗹 𐄂, and √, which
 * looks like one), shields, padlocks, medals, rosettes and name badges (🛡 🔒 🔐 🔏 🏅 🎖 🏵 📛),
 * and private-use characters, which a device may draw as any symbol (Apple's logo is U+F8FF).
 */
const MARKS =
  /[\u2713\u2714\u2705\u2611\u221A\u{1F5F8}\u{1F5F9}\u{10102}\u{1F6E1}\u{1F512}\u{1F510}\u{1F50F}\u{1F3C5}\u{1F396}\u{1F3F5}\u{1F4DB}\p{Co}]/u

/** The words our own verified mark uses: a name that says them claims what only it may say. */
const MARK_WORDS = /verified/

/**
 * Characters that look like a full stop: NFKC already maps the full-width and one-dot-leader
 * forms; these are the rest of Unicode's confusables for "." and a few dot operators.
 */
const DOT_LIKES =
  /[\u00B7\u0387\u0589\u0660\u06D4\u06F0\u0701\u0702\u2027\u2219\u22C5\u2E31\u2E33\u3002\uA4F8\uA60E\uFF61\u{10A50}\u{1D16D}]/gu

/** Spaces narrow enough to go unnoticed beside a dot (six-per-em to hair, narrow no-break…). */
const NARROW_SPACES = /[\u2006\u2008-\u200A\u202F\u205F]/gu

/**
 * `label.label…tld` where the last label is two or more letters (a punycode `xn--` one too):
 * "cafeluna.example", "www.x.com", "café.de"; not "St. Pauli", "No.1" or "2.0".
 */
const DOMAIN_LIKE =
  /(?:[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]*[\p{L}\p{N}\p{M}])?\.)+(?:xn--[a-z0-9-]+|\p{L}[\p{L}\p{M}]+)(?![\p{L}\p{N}\p{M}])/gu

/**
 * The name as it could be read: compatibility forms folded (full-width letters, "．"), lower
 * case, invisible and direction characters and narrow spaces gone, look-alike dots as ".", and
 * no space before a dot ("cafeluna .example" reads as a domain; "St. Pauli" keeps its space).
 */
function skeleton(name: string): string {
  return name
    .replace(NARROW_SPACES, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(new RegExp(BIDI_CONTROLS.source, 'gu'), '')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .replace(DOT_LIKES, '.')
    .replace(/\s+\./gu, '.')
}

/** The domains a name looks like it contains, as host names (punycode), in order. */
export function domainsIn(name: string): string[] {
  return [...skeleton(name).matchAll(DOMAIN_LIKE)].map(([m]) => normalizeDomain(m) ?? m)
}

/**
 * What refuses `name` as a merchant name (already NFC and past the text rules), or undefined.
 * `verifiedDomain` is the domain customers will see verified beside it; a name may be that
 * domain (or its www.), never another.
 */
export function nameProblem(
  name: string,
  verifiedDomain: string | null,
): { rule: NameRule; message: string } | undefined {
  const mark = MARKS.exec(name)?.[0]
  if (mark || MARK_WORDS.test(skeleton(name).replace(/\s/gu, ''))) {
    return {
      rule: 'name_verification_mark',
      message: `A name cannot carry ${mark ? `a verification-like mark (${mark})` : 'the word “verified”'}: checkout pages show your verified domain with its own mark.`,
    }
  }
  const own = verifiedDomain ? [verifiedDomain, `www.${verifiedDomain}`] : []
  const foreign = domainsIn(name).find((d) => !own.includes(d))
  if (foreign !== undefined) {
    return {
      rule: 'name_looks_like_domain',
      message: `A name cannot look like a web address (${foreign}): checkout pages show your domain once verified, marked as such.${verifiedDomain ? '' : ' Your own domain can be your name once it is verified.'}`,
    }
  }
  return undefined
}

/**
 * The schema of a merchant name, given the domain that will be verified beside it (null if none):
 * the customer-text rules, then the name rules. Issues carry their rule in `params.rule`.
 */
export const merchantName = (verifiedDomain: string | null) =>
  customerText()
    .trim()
    .min(1, 'Enter a name.')
    .max(MERCHANT_NAME_MAX, `A name is at most ${MERCHANT_NAME_MAX} characters.`)
    .superRefine((value, ctx) => {
      const problem = nameProblem(value, verifiedDomain)
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem.message, params: { rule: problem.rule } })
      }
    })

/**
 * Reads a merchant name as the admin and `merchant:create` take it: the stored form, or the
 * first refusal as one sentence with its rule (text rules read "The name must not contain…").
 */
export function readMerchantName(
  raw: string,
  verifiedDomain: string | null,
): { name: string } | { rule: string | undefined; message: string } {
  const result = merchantName(verifiedDomain).safeParse(raw)
  if (result.success) return { name: result.data }
  const issue = result.error.issues[0]
  const message = issue?.message ?? 'Enter a valid name.'
  return {
    rule: issue ? ruleOf(issue) : undefined,
    message: /^[A-Z]/.test(message) ? message : `The name ${message}.`,
  }
}
