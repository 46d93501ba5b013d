/**
 * HTTP(S) GET for MVAD `dataSource` URLs that connects to public addresses only (unless private hosts are allowed).
 *
 * The address is checked where the socket gets it: the request's own DNS lookup refuses a name that resolves to any
 * non-public address, so there is no second resolution a rebinding DNS server could answer differently (checking the
 * name first and letting the client resolve it again left that window open). IP literals, which Node connects to
 * without a lookup, are checked before the request. IPv6 forms that carry an IPv4 address (mapped `::ffff:7f00:1` —
 * how the URL parser writes `[::ffff:127.0.0.1]` — compatible, NAT64, 6to4) are judged by that IPv4 address.
 * Redirects are followed by hand so that every hop is checked like the first.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'

/** Raised (as a lookup error) when a host is, or resolves to, a non-public address. */
export const NOT_PUBLIC = 'ENOTPUBLIC'

type Resolver = (hostname: string, options: LookupAllOptions, callback: ResolveCallback) => void
type ResolveCallback = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void
type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/** Whether an address is one an API caller may make the service fetch from: public unicast only. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return isPublicIpv4(address.split('.').map(Number))
  if (family !== 6) return false
  const bytes = ipv6Bytes(address)
  if (bytes === undefined) return false
  const embedded = embeddedIpv4(bytes)
  if (embedded !== undefined) return isPublicIpv4(embedded)
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes
  return !(
    (b0 & 0xfe) === 0xfc || // fc00::/7 unique local
    (b0 === 0xfe && (b1 & 0xc0) === 0x80) || // fe80::/10 link-local
    b0 === 0xff || // multicast
    (b0 === 0x20 && b1 === 0x01 && b2 === 0x0d && b3 === 0xb8) || // 2001:db8::/32 documentation
    (b0 === 0x20 && b1 === 0x01 && b2 === 0 && b3 === 0) || // 2001::/32 Teredo (tunnels to any IPv4)
    (b0 === 0x01 && b1 === 0 && bytes.slice(2, 8).every((b) => b === 0)) // 100::/64 discard
  )
}

function isPublicIpv4([a = 0, b = 0]: number[]): boolean {
  return !(
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224 // multicast, reserved, broadcast
  )
}

/** The IPv4 address an IPv6 one stands for: mapped, compatible (::/96), NAT64 (64:ff9b::/96), 6to4 (2002::/16). */
function embeddedIpv4(bytes: number[]): number[] | undefined {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0)
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12)
  if (zeros(0, 12)) return bytes.slice(12) // ::/96 — :: and ::1 too, refused as 0.0.0.0 and 0.0.0.1
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12))
    return bytes.slice(12)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6)
  return undefined
}

/** The 16 bytes of a valid IPv6 address (`::` and a trailing dotted IPv4 allowed), else undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '') // a zone id names an interface, not an address
  const tail: number[] = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    tail.push(...(dotted[1] as string).split('.').map(Number))
    text = `${text.slice(0, -(dotted[1] as string).length)}0:0`
  }
  const [head = '', rest] = text.split('::')
  const groups = (part: string | undefined): string[] => (part === undefined || part === '' ? [] : part.split(':'))
  const left = groups(head)
  const right = groups(rest)
  const missing = 8 - left.length - right.length
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined
  const words = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right].map((g) =>
    Number.parseInt(g, 16),
  )
  if (words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff])
  if (tail.length === 4) bytes.splice(12, 4, ...tail)
  return bytes
}

/**
 * A `lookup` for http(s).request that resolves every address of the name and fails with NOT_PUBLIC unless all are
 * public (or `allowPrivate`); the socket connects to what it returns.
 */
export function publicOnlyLookup(resolve: Resolver = dnsLookup, allowPrivate = false) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, [])
        return
      }
      const first = addresses[0]
      const refused = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address))
      if (refused !== undefined || first === undefined) {
        const why = first === undefined ? 'no address' : `${refused?.address}, not a public address`
        const notPublic: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${why}`)
        notPublic.code = first === undefined ? 'ENOTFOUND' : NOT_PUBLIC
        callback(notPublic, [])
        return
      }
      if (options.all === true) callback(null, addresses)
      else callback(null, first.address, first.family)
    })
  }
}

export interface PublicGetOptions {
  signal: AbortSignal
  allowPrivate: boolean
  maxRedirects: number
  /** Name resolution (tests); the system resolver by default. */
  resolve?: Resolver
}

export type PublicGetOutcome =
  | { kind: 'response'; response: IncomingMessage; url: URL }
  | { kind: 'refused'; url: URL; reason: string }
  | { kind: 'bad_redirect'; url: URL }
  | { kind: 'too_many_redirects' }

/** GET `url`, following redirects by hand; each hop only to a public address unless `allowPrivate`. */
export async function publicGet(url: URL, options: PublicGetOptions): Promise<PublicGetOutcome> {
  let current = url
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') return { kind: 'bad_redirect', url: current }
    const host = current.hostname.replace(/^\[|\]$/g, '')
    if (!options.allowPrivate && isIP(host) !== 0 && !isPublicAddress(host))
      return { kind: 'refused', url: current, reason: `${host} is not a public address` }
    let response: IncomingMessage
    try {
      response = await get(current, options)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === NOT_PUBLIC)
        return { kind: 'refused', url: current, reason: (error as Error).message }
      throw error
    }
    const location = response.headers.location
    const status = response.statusCode ?? 0
    if (status < 300 || status >= 400 || location === undefined) return { kind: 'response', response, url: current }
    response.destroy() // the redirect's own body is not wanted (nor read: it could be endless)
    if (hop === options.maxRedirects) return { kind: 'too_many_redirects' }
    current = new URL(location, current)
  }
}

function get(url: URL, options: PublicGetOptions): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: 'GET',
      signal: options.signal,
      // Allowed private hosts with the system resolver need no lookup of ours.
      ...(options.allowPrivate && options.resolve === undefined
        ? {}
        : { lookup: publicOnlyLookup(options.resolve, options.allowPrivate) }),
    })
    outgoing.on('response', resolve)
    outgoing.on('error', reject)
    outgoing.end()
  })
}
