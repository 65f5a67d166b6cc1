/**
 * Scope analysis of one built module for the CommonJS rewrite: which top-level bindings it
 * declares, and which of them can still change after the module ran.
 */
import { parse as parseJs } from 'acorn'
import { analyze } from 'eslint-scope'

/**
 * A module's top-level names, and those of them that code inside a function (or class) assigns:
 * the only bindings whose value can change after the module was evaluated, which a copy taken by
 * a CommonJS chunk (`const{a:x}=require(…)`, `module.exports={…}`) would miss.
 */
export function topLevelOf(
  code: string,
  name: string,
): { declared: Set<string>; laterWritten: Set<string> } {
  let ast: ReturnType<typeof parseJs>
  try {
    ast = parseJs(code, { ecmaVersion: 'latest', sourceType: 'module', ranges: true })
  } catch (error) {
    throw new Error(`${name}: cannot be parsed: ${(error as Error).message}`)
  }
  const manager = analyze(ast as Parameters<typeof analyze>[0], {
    ecmaVersion: 2024,
    sourceType: 'module',
  })
  const top = manager.scopes.find((s) => s.type === 'module')
  const declared = new Set<string>()
  const laterWritten = new Set<string>()
  for (const variable of top?.variables ?? []) {
    declared.add(variable.name)
    const later = variable.references.some(
      (r) => r.isWrite() && !r.init && r.from.variableScope !== top,
    )
    if (later) laterWritten.add(variable.name)
  }
  return { declared, laterWritten }
}
