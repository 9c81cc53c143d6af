// --trusted-proxies: the addresses and CIDR ranges whose connections must start with a PROXY header
// (docs/OPERATIONS.md#proxy-protocol). Pure: strings in, a matcher out.
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Groups, normalizeAddress } from '../peer-address.js';
import { formatIPv6 } from './proxy-header.js';

interface Range {
  readonly v4: boolean;
  readonly network: bigint;
  readonly prefix: number;
}

export type RangeParse = { ok: true; range: string } | { ok: false; error: string };

function numberOf(address: string): { v4: boolean; value: bigint } | null {
  if (isIPv4(address)) {
    const value = address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { v4: true, value };
  }
  if (!isIPv6(address)) return null;
  const groups = ipv6Groups(address);
  if (groups === null) return null;
  return { v4: false, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
}

function mask(v4: boolean, prefix: number): bigint {
  const width = v4 ? 32n : 128n;
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n);
}

function toRange(text: string): Range | string {
  const [address = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return 'too many slashes';
  // A zone (%eth0) says nothing about which peer an address is; the peer address has none.
  if (address.includes('%')) return 'an address with a zone (%) cannot match a peer';
  const parsed = numberOf(normalizeAddress(address));
  if (parsed === null) return 'not an IP address or CIDR range';
  const width = parsed.v4 ? 32 : 128;
  let prefix = width;
  if (prefixText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > width)
      return `the prefix length must be 0 to ${width}`;
    prefix = Number(prefixText);
  }
  return { v4: parsed.v4, network: parsed.value & mask(parsed.v4, prefix), prefix };
}

function formatRange(range: Range): string {
  if (range.v4) {
    const n = range.network;
    const octets = [24n, 16n, 8n, 0n].map((shift) => Number((n >> shift) & 0xffn));
    return `${octets.join('.')}/${range.prefix}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((range.network >> BigInt(16 * i)) & 0xffffn));
  return `${formatIPv6(groups)}/${range.prefix}`;
}

/**
 * One entry of the list, as the canonical `network/prefix` (host bits cleared: `10.1.2.3/8` becomes
 * `10.0.0.0/8`; a single address gets /32 or /128), or why it is not one.
 */
export function parseAddressRange(text: string): RangeParse {
  const range = toRange(text.trim());
  return typeof range === 'string' ? { ok: false, error: range } : { ok: true, range: formatRange(range) };
}

/** The comma-separated list of --trusted-proxies, canonical and deduplicated, or every bad entry. */
export function parseTrustedProxies(
  list: string,
): { ok: true; ranges: string[] } | { ok: false; errors: string[] } {
  const ranges: string[] = [];
  const errors: string[] = [];
  for (const entry of list.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const parsed = parseAddressRange(entry);
    if (parsed.ok) {
      if (!ranges.includes(parsed.range)) ranges.push(parsed.range);
    } else errors.push(`${JSON.stringify(entry)}: ${parsed.error}`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, ranges };
}

/**
 * A test for "is this peer one of the trusted proxies", from canonical ranges. The peer address is
 * taken as a socket reports it: an IPv4-mapped IPv6 peer (`::ffff:10.0.0.5`) matches IPv4 ranges.
 */
export function createProxyTrust(ranges: readonly string[]): (peer: string | undefined) => boolean {
  const parsed = ranges.map(toRange).filter((r): r is Range => typeof r !== 'string');
  return (peer) => {
    if (peer === undefined || parsed.length === 0) return false;
    const value = numberOf(normalizeAddress(peer));
    if (value === null) return false;
    return parsed.some((r) => r.v4 === value.v4 && (value.value & mask(r.v4, r.prefix)) === r.network);
  };
}
