/** A bare host name, stored as punycode so look-alike Unicode shows for what it is. */
export function normalizeDomain(raw: string): string | null {
  const value = raw.trim().toLowerCase()
  if (!value || /[/:@?#\s\\]/.test(value)) return null
  try {
    const { hostname } = new URL(`https://${value}`)
    return /^(?=.{4,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{2,63}$/.test(hostname) ? hostname : null
  } catch {
    return null
  }
}
