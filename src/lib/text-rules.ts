/**
 * The rules for text a merchant types and a customer reads (docs/trust.md), without zod so the
 * customer pages (the edge app) can use them too. Each is refused on save, not silently stripped:
 * what the merchant sees saved is what customers see, and the refusal names the character so it
 * can be found although it is invisible. `plainText` strips them where text is shown, for rows
 * saved before the rules.
 */
/** The code of each rule, as the API's problem+json carries it. */
export type TextRule = 'text_bidi_control' | 'text_invisible_character' | 'text_control_character'

/**
 * Direction controls: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the
 * marks (U+200E, U+200F, U+061C). They change the order characters are shown in, so
 * "\u202Eelpmaxe.anulefac" shows as "cafeluna.example".
 */
export const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u

/**
 * Characters that are drawn as nothing (Unicode's Default_Ignorable_Code_Point: zero-width
 * spaces and joiners U+200B–U+200D, word joiner U+2060, U+FEFF, soft hyphen, Hangul fillers, tag
 * characters…), except variation selectors, which only choose how the character before them is
 * drawn (the emoji form of ☕, say). The direction controls above are Default_Ignorable too, but
 * get their own rule.
 */
const INVISIBLE = /(?![\uFE00-\uFE0F\u{E0100}-\u{E01EF}])\p{Default_Ignorable_Code_Point}/u

/** C0 and C1 controls, DEL, and the line and paragraph separators U+2028/U+2029. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u
/** The same, where line breaks and tabs are part of the text (a code's description). */
const CONTROL_BUT_LINES = /(?![\t\n\r])[\p{Cc}\u2028\u2029]/u

export interface TextProblem {
  rule: TextRule
  message: string
}

const codePoint = (ch: string) =>
  `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`

/** The first rule `value` breaks, naming the character, or undefined. */
export function customerTextProblem(
  value: string,
  options: { multiline?: boolean } = {},
): TextProblem | undefined {
  const bidi = BIDI_CONTROLS.exec(value)?.[0]
  if (bidi) {
    return {
      rule: 'text_bidi_control',
      message: `must not contain direction controls such as ${codePoint(bidi)}: they change the order text is shown in`,
    }
  }
  const invisible = INVISIBLE.exec(value)?.[0]
  if (invisible) {
    return {
      rule: 'text_invisible_character',
      message: `must not contain invisible characters such as ${codePoint(invisible)} (zero-width space or joiner, word joiner, byte order mark…)`,
    }
  }
  const control = (options.multiline ? CONTROL_BUT_LINES : CONTROL).exec(value)?.[0]
  if (control) {
    return {
      rule: 'text_control_character',
      message: `must not contain control characters such as ${codePoint(control)}${options.multiline ? ' (line breaks and tabs are fine)' : ''}`,
    }
  }
  return undefined
}

/** `value` without direction controls, invisible and control characters: for showing old rows. */
export function plainText(value: string): string {
  return value.replace(STRIPPED, '')
}

const STRIPPED = new RegExp(
  [BIDI_CONTROLS.source, INVISIBLE.source, CONTROL.source].join('|'),
  'gu',
)
