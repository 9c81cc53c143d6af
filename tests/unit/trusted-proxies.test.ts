import test from 'ava';
import fc from 'fast-check';
import { loadServerConfig } from '../../src/config/server-config.js';
import { createProxyTrust, parseAddressRange, parseTrustedProxies } from '../../src/net/trusted-proxies.js';
import { RUNS } from '../_helpers/protocol.js';

test('entries become canonical network/prefix ranges', (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1/32'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    [' 192.168.4.0/22 ', '192.168.4.0/22'],
    ['::1', '::1/128'],
    ['2001:DB8::7/32', '2001:db8::/32'],
    ['fd00:0:0:0:0:0:0:1/8', 'fd00::/8'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.5', '10.0.0.5/32'],
  ];
  for (const [input, range] of cases) t.deepEqual(parseAddressRange(input), { ok: true, range }, input);
});

test('bad entries are named, all at once', (t) => {
  for (const bad of [
    '',
    'lb.example.com',
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '1/2/3',
    'fe80::1%eth0',
    '10.0.0.256',
  ]) {
    t.false(parseAddressRange(bad).ok, bad);
  }
  const parsed = parseTrustedProxies('10.0.0.1, nope,10.0.0.0/40');
  t.false(parsed.ok);
  if (!parsed.ok) {
    t.is(parsed.errors.length, 2);
    t.regex(parsed.errors[0] as string, /"nope"/);
    t.regex(parsed.errors[1] as string, /"10\.0\.0\.0\/40": the prefix length must be 0 to 32/);
  }
  t.deepEqual(parseTrustedProxies('127.0.0.1,127.0.0.1/32, ,::1'), {
    ok: true,
    ranges: ['127.0.0.1/32', '::1/128'],
  });
});

test('matching: inside the range or not, per family, IPv4-mapped peers as IPv4', (t) => {
  const trusted = createProxyTrust(['10.0.0.0/8', '127.0.0.5/32', '2001:db8::/32']);
  for (const peer of [
    '10.0.0.1',
    '10.255.255.255',
    '127.0.0.5',
    '::ffff:10.9.9.9',
    '2001:db8::1',
    '2001:DB8:ffff::1',
  ]) {
    t.true(trusted(peer), peer);
  }
  for (const peer of [
    '11.0.0.1',
    '127.0.0.6',
    '9.255.255.255',
    '2001:db9::1',
    '::1',
    '::ffff:127.0.0.6',
    '',
    'x',
  ]) {
    t.false(trusted(peer), peer);
  }
  t.false(trusted(undefined), 'a socket whose peer is gone');
  t.false(createProxyTrust([])('127.0.0.1'), 'no list: nobody');
  t.true(createProxyTrust(['0.0.0.0/0'])('203.0.113.9'));
  t.false(createProxyTrust(['0.0.0.0/0'])('2001:db8::1'), 'an IPv4 range never matches IPv6');
});

test('matching agrees with a plain bit comparison for any IPv4 address and prefix', (t) => {
  const toInt = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (network, peer, prefix) => {
      const parsed = parseAddressRange(`${network}/${prefix}`);
      if (!parsed.ok) return false;
      const shift = 2 ** (32 - prefix);
      const expected = Math.floor(toInt(network) / shift) === Math.floor(toInt(peer) / shift);
      return createProxyTrust([parsed.range])(peer) === expected;
    }),
    RUNS,
  );
  t.pass();
});

// --- the flags ------------------------------------------------------------------------------------

const load = (argv: string[], env: Record<string, string> = {}) => loadServerConfig(argv, env, '/srv');

test('off by default: no PROXY header is read from anyone', (t) => {
  const result = load([]);
  if (!result.ok) return t.fail(result.errors.join());
  t.false(result.config.proxyProtocol);
  t.deepEqual(result.config.trustedProxies, []);
});

test('--proxy-protocol with --trusted-proxies, from flags or the environment', (t) => {
  const flags = load(['--proxy-protocol', '--trusted-proxies', '10.0.0.11, 10.0.0.12,fd00::/8']);
  if (!flags.ok) return t.fail(flags.errors.join());
  t.true(flags.config.proxyProtocol);
  t.deepEqual(flags.config.trustedProxies, ['10.0.0.11/32', '10.0.0.12/32', 'fd00::/8']);
  t.true(Object.isFrozen(flags.config.trustedProxies));
  const env = load([], { FILEHIVE_PROXY_PROTOCOL: '1', FILEHIVE_TRUSTED_PROXIES: '127.0.0.1' });
  if (!env.ok) return t.fail(env.errors.join());
  t.like(env.config, { proxyProtocol: true, trustedProxies: ['127.0.0.1/32'] });
  // A config survives the JSON trip to the workers.
  t.deepEqual(JSON.parse(JSON.stringify(env.config)).trustedProxies, ['127.0.0.1/32']);
});

test('--proxy-protocol without trusted proxies is one clear error (the server exits 2)', (t) => {
  const result = load(['--proxy-protocol']);
  t.false(result.ok);
  if (!result.ok) {
    t.is(result.errors.length, 1);
    t.regex(result.errors[0] as string, /^--proxy-protocol needs --trusted-proxies LIST/);
  }
  const empty = load(['--proxy-protocol', '--trusted-proxies', ' , ']);
  t.deepEqual(empty.ok ? [] : empty.errors, ['--trusted-proxies needs at least one address or CIDR range']);
});

test('--trusted-proxies: bad entries and use without --proxy-protocol are refused', (t) => {
  const bad = load(['--proxy-protocol', '--trusted-proxies', 'balancer.local,10.0.0.0/8']);
  t.deepEqual(bad.ok ? [] : bad.errors, [
    '--trusted-proxies: "balancer.local": not an IP address or CIDR range',
  ]);
  const alone = load(['--trusted-proxies', '10.0.0.1']);
  t.deepEqual(alone.ok ? [] : alone.errors, ['--trusted-proxies is used only with --proxy-protocol']);
});
