import { isIPv4, isIPv6 } from 'node:net'

/**
 * The source a connection is counted under for per-source limits: its IPv4 address, or the /64 prefix of an
 * IPv6 address (one site gets a whole /64, so a single address would be no limit at all). IPv4-mapped IPv6
 * addresses count as their IPv4 address. `remoteAddress` is `host:port` or `[v6]:port`.
 */
export function sourceOf (remoteAddress: string): string {
  let host = remoteAddress
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined)
  else if (host.lastIndexOf(':') > 0 && host.indexOf(':') === host.lastIndexOf(':')) host = host.slice(0, host.lastIndexOf(':'))
  const lower = host.toLowerCase()
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7)
  if (isIPv4(lower)) return lower
  if (!isIPv6(lower)) return lower
  return `${expandV6(lower).slice(0, 4).join(':')}::/64`
}

function expandV6 (host: string): string[] {
  const [head = '', tail] = host.split('::')
  const a = head === '' ? [] : head.split(':')
  const b = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...a, ...new Array<string>(Math.max(0, 8 - a.length - b.length)).fill('0'), ...b]
  return groups.map(g => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '')))
}
