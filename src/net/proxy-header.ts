// The PROXY protocol header a load balancer puts in front of a connection to tell the server who the
// client is (HAProxy's proxy-protocol.txt, versions 1 and 2). Pure: bytes in, a verdict out; values
// in, bytes out. docs/OPERATIONS.md#proxy-protocol says how the server uses it.
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Groups } from '../peer-address.js';

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * What a complete header says:
 * - `proxy`: the connection was relayed for the client at `source` (to `destination`, the address the
 *   client connected to);
 * - `local`: (v2) the proxy opened the connection itself, e.g. a health check: use the real peer;
 * - `unknown`: v1 `UNKNOWN`, or a v2 family this server does not relay (UNSPEC, UNIX, UDP): the spec
 *   says to use the real peer.
 */
export type ProxyHeader =
  | {
      readonly version: 1 | 2;
      readonly command: 'proxy';
      readonly family: 'tcp4' | 'tcp6';
      readonly source: ProxyEndpoint;
      readonly destination: ProxyEndpoint;
    }
  | { readonly version: 1 | 2; readonly command: 'unknown' }
  | { readonly version: 2; readonly command: 'local' };

export type ProxyParse =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string }
  /** `length`: the header's bytes; what follows them is the client's own data. */
  | { readonly status: 'complete'; readonly header: ProxyHeader; readonly length: number };

/** proxy-protocol.txt 2.1: a v1 line is at most 107 bytes, CRLF included. */
export const V1_MAX_BYTES = 107;
/** proxy-protocol.txt 2.2: the twelve bytes every v2 header starts with. */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_FIXED = 16;
/** The longest v2 header: 16 bytes and a 16-bit length. Nothing longer is ever buffered. */
export const V2_MAX_BYTES = V2_FIXED + 0xffff;
/** The longest header of either version: what a reader may need to hold at most. */
export const MAX_HEADER_BYTES = V2_MAX_BYTES;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const CR = 0x0d;
const LF = 0x0a;

const INCOMPLETE: ProxyParse = { status: 'incomplete' };
const invalid = (reason: string): ProxyParse => ({ status: 'invalid', reason });

/** True when `input` starts with `prefix`, as far as both go. */
function agrees(input: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(input.length, prefix.length);
  for (let i = 0; i < n; i++) if (input[i] !== prefix[i]) return false;
  return true;
}

/**
 * Reads a header from the start of a connection's bytes. `incomplete` means: wait for more (never
 * after V1_MAX_BYTES of a v1 line, or the length a v2 header announces); `invalid` means: drop the
 * connection (anything that is not a header, as early as the bytes show it). Never throws.
 */
export function parseProxyHeader(input: Uint8Array): ProxyParse {
  if (input.length === 0) return INCOMPLETE;
  if (input[0] === V1_PREFIX[0]) return parseV1(input);
  if (input[0] === V2_SIGNATURE[0]) return parseV2(input);
  return invalid('no PROXY header');
}

// --- version 1: "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n" ---------------------------------

function parseV1(input: Uint8Array): ProxyParse {
  if (!agrees(input, V1_PREFIX)) return invalid('no PROXY header');
  const limit = Math.min(input.length, V1_MAX_BYTES);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    const byte = input[i] as number;
    if (byte === LF) {
      end = i;
      break;
    }
    // US-ASCII text; a CR only right before the LF.
    if (byte === CR) {
      if (i + 1 < input.length && input[i + 1] !== LF) return invalid('v1 header: CR not followed by LF');
    } else if (byte < 0x20 || byte > 0x7e) return invalid('v1 header: not printable US-ASCII');
  }
  if (end < 0) return input.length >= V1_MAX_BYTES ? invalid('v1 header longer than 107 bytes') : INCOMPLETE;
  if (input[end - 1] !== CR) return invalid('v1 header must end in CRLF');
  const line = Buffer.from(input.subarray(0, end - 1)).toString('latin1');
  const parts = line.split(' ');
  const length = end + 1;
  // "the receiver must ignore anything presented before the CRLF" after UNKNOWN.
  if (parts[1] === 'UNKNOWN')
    return { status: 'complete', header: { version: 1, command: 'unknown' }, length };
  if (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')
    return invalid('v1 header: protocol is not TCP4, TCP6 or UNKNOWN');
  if (parts.length !== 6)
    return invalid('v1 header: needs source, destination and two ports, one space apart');
  const family = parts[1] === 'TCP4' ? 'tcp4' : 'tcp6';
  const source = v1Address(parts[2] as string, family);
  const destination = v1Address(parts[3] as string, family);
  if (source === null || destination === null)
    return invalid(`v1 header: addresses are not ${family === 'tcp4' ? 'IPv4' : 'IPv6'}`);
  const sourcePort = v1Port(parts[4] as string);
  const destinationPort = v1Port(parts[5] as string);
  if (sourcePort === null || destinationPort === null) return invalid('v1 header: ports must be 0 to 65535');
  return {
    status: 'complete',
    header: {
      version: 1,
      command: 'proxy',
      family,
      source: { address: source, port: sourcePort },
      destination: { address: destination, port: destinationPort },
    },
    length,
  };
}

function v1Address(text: string, family: 'tcp4' | 'tcp6'): string | null {
  // node:net's isIPv4 refuses heading zeroes, as the spec asks; a zone (%eth0) is no wire address.
  if (family === 'tcp4') return isIPv4(text) ? text : null;
  if (!isIPv6(text) || text.includes('%')) return null;
  const groups = ipv6Groups(text);
  return groups === null ? null : formatIPv6(groups);
}

function v1Port(text: string): number | null {
  // Decimal, no heading zeroes (octal confusion), 0..65535.
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 0xffff ? port : null;
}

// --- version 2: signature, version/command, family/transport, length, addresses, TLVs -------------

function parseV2(input: Uint8Array): ProxyParse {
  if (!agrees(input, V2_SIGNATURE)) return invalid('no PROXY header');
  if (input.length < V2_FIXED) return INCOMPLETE;
  const versionCommand = input[12] as number;
  const familyTransport = input[13] as number;
  const blockLength = ((input[14] as number) << 8) | (input[15] as number);
  if (versionCommand >> 4 !== 2) return invalid('v2 header: version is not 2');
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid('v2 header: command is neither LOCAL nor PROXY');
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  const length = V2_FIXED + blockLength;
  // LOCAL: "discard the protocol block including the family which is ignored".
  if (command === 0) {
    return input.length < length
      ? INCOMPLETE
      : { status: 'complete', header: { version: 2, command: 'local' }, length };
  }
  if (family > 3) return invalid('v2 header: unknown address family');
  if (transport > 2) return invalid('v2 header: unknown transport');
  const tcp = transport === 1 && (family === 1 || family === 2);
  const needed = family === 1 ? 12 : family === 2 ? 36 : 0;
  if (tcp && blockLength < needed) return invalid('v2 header: address block too short');
  if (input.length < length) return INCOMPLETE;
  // UNSPEC, UNIX and UDP: relayed, but with no TCP client address to use; the real peer stands.
  if (!tcp) return { status: 'complete', header: { version: 2, command: 'unknown' }, length };
  const block = input.subarray(V2_FIXED, V2_FIXED + needed);
  const size = family === 1 ? 4 : 16;
  const address = (at: number) =>
    family === 1 ? Array.from(block.subarray(at, at + 4)).join('.') : formatIPv6(groupsOf(block, at));
  const port = (at: number) => ((block[at] as number) << 8) | (block[at + 1] as number);
  return {
    status: 'complete',
    header: {
      version: 2,
      command: 'proxy',
      family: family === 1 ? 'tcp4' : 'tcp6',
      source: { address: address(0), port: port(2 * size) },
      destination: { address: address(size), port: port(2 * size + 2) },
    },
    length,
  };
}

function groupsOf(bytes: Uint8Array, at: number): number[] {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++)
    groups.push(((bytes[at + 2 * i] as number) << 8) | (bytes[at + 2 * i + 1] as number));
  return groups;
}

/**
 * RFC 5952 text of eight 16-bit groups: lower case, no heading zeroes, the longest run of two or
 * more zero groups (the first of equals) as `::`, and an IPv4-mapped address as `::ffff:a.b.c.d`
 * (which normalizeAddress turns into plain IPv4).
 */
export function formatIPv6(groups: readonly number[]): string {
  const g = groups as readonly [number, number, number, number, number, number, number, number];
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`;
  }
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (part: readonly number[]) => part.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLength))}`;
}

// --- encoding (what a proxy sends; used by tests and tools) ---------------------------------------

/** The v1 line for a header (`local` has no v1 form; it is sent as UNKNOWN). */
export function encodeProxyHeaderV1(header: ProxyHeader): Buffer {
  if (header.command !== 'proxy') return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const { source: s, destination: d } = header;
  const protocol = header.family === 'tcp4' ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${protocol} ${s.address} ${d.address} ${s.port} ${d.port}\r\n`, 'latin1');
}

/** The v2 bytes for a header; `tlvs` (already encoded type-length-value records) go after the addresses. */
export function encodeProxyHeaderV2(header: ProxyHeader, tlvs: Uint8Array = new Uint8Array(0)): Buffer {
  let command = 0x21;
  let family = 0x00;
  let block: Buffer = Buffer.alloc(0);
  if (header.command === 'local') command = 0x20;
  else if (header.command === 'proxy') {
    const v4 = header.family === 'tcp4';
    family = v4 ? 0x11 : 0x21;
    const bytes = (address: string) => (v4 ? ipv4Bytes(address) : ipv6Bytes(address));
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(header.source.port, 0);
    ports.writeUInt16BE(header.destination.port, 2);
    block = Buffer.concat([bytes(header.source.address), bytes(header.destination.address), ports]);
  }
  const fixed = Buffer.alloc(4);
  fixed[0] = command;
  fixed[1] = family;
  fixed.writeUInt16BE(block.length + tlvs.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, block, tlvs]);
}

function ipv4Bytes(address: string): Buffer {
  if (!isIPv4(address)) throw new RangeError(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  const groups = ipv6Groups(address);
  if (groups === null) throw new RangeError(`not an IPv6 address: ${address}`);
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, 2 * i);
  return out;
}
