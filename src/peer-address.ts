// Client addresses as the connection limits and bans see them. Pure: strings in, strings out.
import { isIPv4, isIPv6 } from 'node:net';

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The address as one canonical string: an IPv4-mapped IPv6 address (`::ffff:127.0.0.2`, what a
 * dual-stack listener reports for IPv4 clients) becomes plain IPv4, IPv6 loses its zone and letter
 * case. Anything else is returned trimmed.
 */
export function normalizeAddress(address: string): string {
  const text = address.trim();
  const mapped = MAPPED_IPV4.exec(text);
  if (mapped && isIPv4(mapped[1] as string)) return mapped[1] as string;
  const zoneless = text.replace(/%.*$/, '');
  return isIPv6(zoneless) ? zoneless.toLowerCase() : text;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
export function ipv6Groups(address: string): number[] | null {
  if (!isIPv6(address)) return null;
  let text = address;
  const tail: number[] = [];
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = `${text.slice(0, dotted.index)}:`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const left = parse(head.replace(/:$/, ''));
  const right = rest === undefined ? [] : parse(rest.replace(/:$/, ''));
  const missing = 8 - left.length - right.length - tail.length;
  if (rest === undefined && missing !== 0) return null;
  return [...left, ...Array<number>(Math.max(missing, 0)).fill(0), ...right, ...tail];
}

/** Loopback: 127.0.0.0/8 and ::1 (after normalizeAddress, so mapped IPv4 counts too). */
export function isLoopbackAddress(address: string): boolean {
  const ip = normalizeAddress(address);
  if (isIPv4(ip)) return ip.startsWith('127.');
  const groups = ipv6Groups(ip);
  if (groups === null) return false;
  return groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
}

/**
 * The key limits and bans count by: the IPv4 address itself, or the /64 network of an IPv6 address
 * (one subscriber usually holds a whole /64, so counting single IPv6 addresses would let one client
 * open a fresh address per connection or per guessed password). Loopback ::1 keeps its own key.
 */
export function addressKey(address: string): string {
  const ip = normalizeAddress(address);
  if (isIPv4(ip) || ip === '::1') return ip;
  const groups = ipv6Groups(ip);
  if (groups === null) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
