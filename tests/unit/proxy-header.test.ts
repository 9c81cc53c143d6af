import { isIPv6 } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import {
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  formatIPv6,
  MAX_HEADER_BYTES,
  type ProxyHeader,
  type ProxyParse,
  parseProxyHeader,
  V1_MAX_BYTES,
  V2_SIGNATURE,
} from '../../src/net/proxy-header.js';
import { ipv6Groups } from '../../src/peer-address.js';
import { RUNS } from '../_helpers/protocol.js';

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const SIG = V2_SIGNATURE.toString('hex');

function complete(
  t: import('ava').ExecutionContext,
  result: ProxyParse,
): { header: ProxyHeader; length: number } {
  if (result.status !== 'complete') {
    t.fail(`expected a complete header, got ${JSON.stringify(result)}`);
    throw new Error('not complete');
  }
  return result;
}

const tcp4 = (src: string, sport: number, dst = '10.0.0.1', dport = 9400): ProxyHeader => ({
  version: 1,
  command: 'proxy',
  family: 'tcp4',
  source: { address: src, port: sport },
  destination: { address: dst, port: dport },
});

// --- version 1 ------------------------------------------------------------------------------------

const V1_VALID: Array<[string, ProxyHeader]> = [
  ['PROXY TCP4 127.0.0.9 127.0.0.1 51234 9400\r\n', tcp4('127.0.0.9', 51234, '127.0.0.1', 9400)],
  ['PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n', tcp4('0.0.0.0', 0, '255.255.255.255', 65535)],
  [
    'PROXY TCP6 2001:DB8::1 2001:db8:0:0:0:0:0:2 1 2\r\n',
    {
      version: 1,
      command: 'proxy',
      family: 'tcp6',
      source: { address: '2001:db8::1', port: 1 },
      destination: { address: '2001:db8::2', port: 2 },
    },
  ],
  [
    'PROXY TCP6 ::ffff:192.0.2.7 ::1 40000 9400\r\n',
    {
      version: 1,
      command: 'proxy',
      family: 'tcp6',
      source: { address: '::ffff:192.0.2.7', port: 40000 },
      destination: { address: '::1', port: 9400 },
    },
  ],
  ['PROXY UNKNOWN\r\n', { version: 1, command: 'unknown' }],
  ['PROXY UNKNOWN whatever: 1 2 3 \r\n', { version: 1, command: 'unknown' }],
];

test('v1: valid lines give the client, the header length and nothing of what follows', (t) => {
  for (const [line, header] of V1_VALID) {
    const result = complete(t, parseProxyHeader(ascii(`${line}HELLO\n`)));
    t.deepEqual(result.header, header, line);
    t.is(result.length, line.length, line);
  }
});

test('v1: the longest line the spec allows (107 bytes with CRLF) is read', (t) => {
  const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  const line = `PROXY TCP6 ${full} ${full} 65535 65535\r\n`;
  t.is(line.length, 104);
  t.is(complete(t, parseProxyHeader(ascii(line))).length, 104);
  const unknown = `PROXY UNKNOWN ${'x'.repeat(V1_MAX_BYTES - 16)}\r\n`;
  t.is(unknown.length, V1_MAX_BYTES);
  t.is(complete(t, parseProxyHeader(ascii(unknown))).length, V1_MAX_BYTES);
});

test('v1: a line without its end stays incomplete up to 107 bytes, then is refused', (t) => {
  const long = `PROXY UNKNOWN ${'x'.repeat(200)}`;
  for (let n = 1; n < V1_MAX_BYTES; n++)
    t.is(parseProxyHeader(ascii(long.slice(0, n))).status, 'incomplete', `${n}`);
  t.like(parseProxyHeader(ascii(long.slice(0, V1_MAX_BYTES))), { status: 'invalid' });
  t.like(parseProxyHeader(ascii(`${long.slice(0, V1_MAX_BYTES - 1)}\r\n`)), { status: 'invalid' });
});

const V1_INVALID = [
  'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
  'PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
  'PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n',
  'PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n',
  'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n',
  'PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n',
  'PROXY UNKNOWNX\r\n',
  'PROXY\r\n',
  'PROXY \r\n',
  'PROXY TCP4 127.000.0.1 5.6.7.8 1 2\r\n',
  'PROXY TCP4 256.0.0.1 5.6.7.8 1 2\r\n',
  'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n',
  'PROXY TCP4 ::1 5.6.7.8 1 2\r\n',
  'PROXY TCP6 1.2.3.4 ::1 1 2\r\n',
  'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n',
  'PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10\r\n',
  'PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n',
  'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x00\r\n',
  'PROXY TCP4 1.2.3.é 5.6.7.8 1 2\r\n',
];

test('v1: malformed lines are refused', (t) => {
  for (const line of V1_INVALID)
    t.like(parseProxyHeader(Buffer.from(line, 'utf8')), { status: 'invalid' }, line);
});

test('no header at all is refused at the first byte that shows it', (t) => {
  for (const start of ['HELLO', 'G', 'LIST\n', '\x16\x03\x01', '\x00', ' PROXY', '\nPROXY']) {
    t.deepEqual(parseProxyHeader(ascii(start)), { status: 'invalid', reason: 'no PROXY header' }, start);
  }
  t.like(parseProxyHeader(ascii('PR0')), { status: 'invalid' });
  t.is(parseProxyHeader(new Uint8Array(0)).status, 'incomplete');
});

// --- version 2 ------------------------------------------------------------------------------------

test('v2: TCP over IPv4, with TLVs skipped and the client data after them left alone', (t) => {
  const tlv = '04 0003 616263'; // PP2_TYPE_NOOP "abc"
  const bytes = hex(`${SIG} 21 11 0012 7f000009 7f000001 c822 24b8 ${tlv} 48454c4c4f`);
  const result = complete(t, parseProxyHeader(bytes));
  t.deepEqual(result.header, {
    version: 2,
    command: 'proxy',
    family: 'tcp4',
    source: { address: '127.0.0.9', port: 51234 },
    destination: { address: '127.0.0.1', port: 9400 },
  });
  t.is(result.length, 16 + 12 + 6);
  t.is(bytes.subarray(result.length).toString(), 'HELLO');
});

test('v2: TCP over IPv6, addresses in RFC 5952 form', (t) => {
  const bytes = hex(
    `${SIG} 21 21 0024 20010db8000000000000000000000001 00000000000000000000ffffc0000207 0001 0002`,
  );
  t.deepEqual(complete(t, parseProxyHeader(bytes)).header, {
    version: 2,
    command: 'proxy',
    family: 'tcp6',
    source: { address: '2001:db8::1', port: 1 },
    destination: { address: '::ffff:192.0.2.7', port: 2 },
  });
});

test('v2: LOCAL (health checks) and unrelayed families keep the real peer, skipping whatever block they carry', (t) => {
  const cases: Array<[string, ProxyHeader['command'], number]> = [
    [`${SIG} 20 00 0000`, 'local', 16],
    [`${SIG} 20 11 000c 7f000009 7f000001 c822 24b8`, 'local', 28],
    [`${SIG} 20 ff 0002 abcd`, 'local', 18], // the family of a LOCAL header is ignored
    [`${SIG} 21 00 0000`, 'unknown', 16],
    [`${SIG} 21 12 000c 7f000009 7f000001 c822 24b8`, 'unknown', 28], // UDP
    [`${SIG} 21 10 0000`, 'unknown', 16], // IPv4, transport UNSPEC
    [`${SIG} 21 31 00d8 ${'00'.repeat(216)}`, 'unknown', 232], // UNIX stream
  ];
  for (const [text, command, length] of cases) {
    const result = complete(t, parseProxyHeader(hex(text)));
    t.is(result.header.command, command, text);
    t.is(result.length, length, text);
  }
});

test('v2: a wrong version, command, family, transport or a short address block is refused', (t) => {
  const block = '7f000009 7f000001 c822 24b8';
  for (const text of [
    `${SIG} 11 11 000c ${block}`,
    `${SIG} 31 11 000c ${block}`,
    `${SIG} 22 11 000c ${block}`,
    `${SIG} 2f 11 000c ${block}`,
    `${SIG} 21 41 000c ${block}`,
    `${SIG} 21 13 000c ${block}`,
    `${SIG} 21 11 000b ${block}`,
    `${SIG} 21 21 0023 ${'00'.repeat(35)}`,
  ]) {
    t.like(parseProxyHeader(hex(text)), { status: 'invalid' }, text);
    // Known from the fixed 16 bytes: refused before the block arrives.
    t.like(parseProxyHeader(hex(text).subarray(0, 16)), { status: 'invalid' }, text);
  }
});

test('v2: any byte of the signature wrong is refused as soon as it arrives', (t) => {
  for (let i = 1; i < 12; i++) {
    const bytes = Buffer.from(V2_SIGNATURE);
    bytes[i] = (bytes[i] as number) ^ 0x40;
    t.like(parseProxyHeader(bytes.subarray(0, i + 1)), { status: 'invalid' }, `byte ${i}`);
    t.is(parseProxyHeader(bytes.subarray(0, i)).status, 'incomplete', `before byte ${i}`);
  }
});

test('v2: the longest header (length 65535) is read whole; nothing claims more', (t) => {
  const bytes = Buffer.concat([hex(`${SIG} 21 00 ffff`), Buffer.alloc(0xffff, 0xaa)]);
  t.is(bytes.length, MAX_HEADER_BYTES);
  t.is(parseProxyHeader(bytes.subarray(0, bytes.length - 1)).status, 'incomplete');
  t.is(complete(t, parseProxyHeader(bytes)).length, MAX_HEADER_BYTES);
});

// --- every fixture, truncated and split -------------------------------------------------------------

const FIXTURES: Buffer[] = [
  ...V1_VALID.map(([line]) => ascii(line)),
  encodeProxyHeaderV2(tcp4('127.0.0.9', 51234)),
  encodeProxyHeaderV2({ version: 2, command: 'local' }, hex('04 0001 00')),
  hex(`${SIG} 21 21 0024 20010db8000000000000000000000001 00000000000000000000000000000001 0001 0002`),
];

test('every fixture cut short at any byte is incomplete (a header split across TCP segments waits)', (t) => {
  for (const fixture of FIXTURES) {
    const whole = complete(t, parseProxyHeader(fixture));
    for (let n = 0; n < fixture.length; n++) {
      t.is(
        parseProxyHeader(fixture.subarray(0, n)).status,
        'incomplete',
        `${fixture.toString('hex')} at ${n}`,
      );
    }
    // Fed chunk by chunk as a reader would: the verdict comes with the last byte, and it is the same.
    for (let split = 1; split < fixture.length; split++) {
      const first = parseProxyHeader(fixture.subarray(0, split));
      const second = parseProxyHeader(Buffer.concat([fixture.subarray(0, split), fixture.subarray(split)]));
      t.is(first.status, 'incomplete');
      t.deepEqual(second, whole);
    }
  }
});

// --- properties -----------------------------------------------------------------------------------

const ipv4 = fc.ipV4();
const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .chain((groups) =>
    fc.oneof(
      fc.constant(groups),
      // zero runs, where compression happens
      fc.tuple(fc.nat(7), fc.nat(8)).map(([at, n]) => groups.map((g, i) => (i >= at && i < at + n ? 0 : g))),
    ),
  )
  .map(formatIPv6);
const port = fc.integer({ min: 0, max: 0xffff });
const endpoint = (address: fc.Arbitrary<string>) => fc.record({ address, port });

const proxied = (version: 1 | 2): fc.Arbitrary<ProxyHeader> =>
  fc.oneof(
    fc.record({
      version: fc.constant(version),
      command: fc.constant('proxy' as const),
      family: fc.constant('tcp4' as const),
      source: endpoint(ipv4),
      destination: endpoint(ipv4),
    }),
    fc.record({
      version: fc.constant(version),
      command: fc.constant('proxy' as const),
      family: fc.constant('tcp6' as const),
      source: endpoint(ipv6),
      destination: endpoint(ipv6),
    }),
  );

const tlvs = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })), { maxLength: 4 })
  .map((list) =>
    Buffer.concat(
      list.map(([type, value]) => {
        const head = Buffer.alloc(3);
        head[0] = type;
        head.writeUInt16BE(value.length, 1);
        return Buffer.concat([head, value]);
      }),
    ),
  );

test('mirror: parse(encode(header) + data) gives the header back and stops where the data starts', (t) => {
  fc.assert(
    fc.property(
      fc.oneof(
        proxied(1).map((h) => ({ h, bytes: encodeProxyHeaderV1(h) })),
        fc.tuple(proxied(2), tlvs).map(([h, extra]) => ({ h, bytes: encodeProxyHeaderV2(h, extra) })),
      ),
      fc.uint8Array({ maxLength: 64 }),
      ({ h, bytes }, data) => {
        const result = parseProxyHeader(Buffer.concat([bytes, data]));
        return (
          result.status === 'complete' &&
          result.length === bytes.length &&
          JSON.stringify(result.header) === JSON.stringify(h)
        );
      },
    ),
    RUNS,
  );
  t.pass();
});

/** Bytes that look like a header for a while: a real header's start, bent somewhere, plus noise. */
const nearlyHeaders = fc
  .tuple(
    fc.oneof(
      proxied(1).map(encodeProxyHeaderV1),
      proxied(2).map((h) => encodeProxyHeaderV2(h)),
      fc.constant(V2_SIGNATURE),
      fc.constant(ascii('PROXY ')),
    ),
    fc.nat(120),
    fc.integer({ min: 0, max: 255 }),
    fc.uint8Array({ maxLength: 120 }),
  )
  .map(([start, at, byte, tail]) => {
    const bytes = Buffer.concat([start, tail]);
    if (at < bytes.length) bytes[at] = byte;
    return bytes;
  });

test('any input: never throws; a verdict, once reached, stands whatever bytes follow', (t) => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 300 }), nearlyHeaders),
      fc.uint8Array({ maxLength: 50 }),
      (input, more) => {
        const result = parseProxyHeader(input);
        const longer = parseProxyHeader(Buffer.concat([input, more]));
        if (result.status === 'complete') {
          if (result.length > input.length || result.length > MAX_HEADER_BYTES) return false;
          return JSON.stringify(longer) === JSON.stringify(result);
        }
        if (result.status === 'invalid') return longer.status === 'invalid' && !/[\r\n]/.test(result.reason);
        // incomplete: only as long as a header could still be that long
        return input.length < MAX_HEADER_BYTES;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('formatIPv6: RFC 5952 text that reads back as the same groups', (t) => {
  const cases: Array<[string, string]> = [
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
    ['FE80:0:0:0:0:0:0:AB', 'fe80::ab'],
  ];
  for (const [input, expected] of cases) t.is(formatIPv6(ipv6Groups(input) as number[]), expected, input);
  fc.assert(
    fc.property(fc.ipV6(), (address) => {
      const groups = ipv6Groups(address) as number[];
      const text = formatIPv6(groups);
      return isIPv6(text) && JSON.stringify(ipv6Groups(text)) === JSON.stringify(groups);
    }),
    RUNS,
  );
});
