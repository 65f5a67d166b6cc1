/** CSV (RFC 4180) for spreadsheet users, safe to open: no cell is ever read as a formula. */

/** Quotes when needed, and defuses cells a spreadsheet would evaluate (=, +, -, @, tab, CR). */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return ''
  let text = String(value)
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvLine(values: (string | number | boolean | null)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`
}
