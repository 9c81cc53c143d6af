// The TLS pieces that need no server: the primary's certificate/key check and the client's error lines.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { readTlsFlags } from '../../src/client/cli-tls.js';
import { describeSocketError } from '../../src/client/errors.js';
import { connectSocket } from '../../src/client/tls-connect.js';
import { describeTlsError } from '../../src/client/tls-errors.js';
import { checkServerTls } from '../../src/tls/server-tls.js';
import { createTestCertificates, type TestCertificates } from '../_helpers/tls-certs.js';

let certs: TestCertificates;

test.before(async () => {
  certs = await createTestCertificates();
});

test.after.always(async () => {
  await certs?.remove();
});

test('checkServerTls accepts a matching pair and describes the certificate', async (t) => {
  const check = await checkServerTls({ certFile: certs.cert, keyFile: certs.key });
  t.true(check.ok);
  if (!check.ok) return;
  t.is(check.info.subject, 'CN=filehive test');
  t.is(check.info.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost');
  t.true(Date.parse(check.info.validTo) > Date.now());
});

test('checkServerTls names the file and the problem in one line', async (t) => {
  const encrypted = join(certs.dir, 'encrypted.key');
  execFileSync('openssl', [
    'pkey',
    '-in',
    certs.key,
    '-aes256',
    '-passout',
    'pass:secret',
    '-out',
    encrypted,
  ]);
  const empty = join(certs.dir, 'empty.pem');
  await writeFile(empty, '');
  const cases: [string, string, RegExp][] = [
    [certs.cert, certs.otherKey, /^--tls-key .+ is not the key of the certificate in --tls-cert .+$/],
    [certs.selfSignedCert, certs.key, /is not the key of the certificate/],
    [join(certs.dir, 'missing.pem'), certs.key, /^cannot read --tls-cert .+missing\.pem: ENOENT$/],
    [certs.cert, certs.dir, /^cannot read --tls-key .+: EISDIR$/],
    [empty, certs.key, /^--tls-cert .+ holds no PEM certificate$/],
    [certs.key, certs.key, /^--tls-cert .+ holds no PEM certificate$/],
    [certs.cert, certs.caCert, /^--tls-key .+ holds no PEM private key$/],
    [certs.cert, encrypted, /^--tls-key .+ is encrypted; give it unencrypted/],
  ];
  for (const [certFile, keyFile, pattern] of cases) {
    const check = await checkServerTls({ certFile, keyFile });
    t.false(check.ok, `${certFile} ${keyFile}`);
    if (check.ok) continue;
    t.regex(check.message, pattern);
    t.false(check.message.includes('\n'));
  }
});

test('certificate failures become one line that says what to do', (t) => {
  const err = (code: string, extra: object = {}) => Object.assign(new Error('x'), { code, ...extra });
  t.is(
    describeTlsError(err('DEPTH_ZERO_SELF_SIGNED_CERT')),
    "certificate not trusted: the server's certificate is self-signed (use --ca FILE)",
  );
  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN']) {
    t.is(describeTlsError(err(code)), 'certificate not trusted: issued by an unknown CA (use --ca FILE)');
  }
  t.regex(describeTlsError(err('CERT_HAS_EXPIRED')) ?? '', /has expired/);
  t.is(
    describeTlsError(
      err('ERR_TLS_CERT_ALTNAME_INVALID', {
        host: '10.0.0.1',
        cert: { subjectaltname: 'DNS:files.example' },
      }),
    ),
    'certificate not trusted: it is not for 10.0.0.1 (it names DNS:files.example)',
  );
  t.regex(describeTlsError(err('ERR_SSL_WRONG_VERSION_NUMBER')) ?? '', /does not speak TLS/);
  t.is(
    describeTlsError(err('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', { reason: 'tlsv1 alert protocol version' })),
    'TLS handshake failed: tlsv1 alert protocol version',
  );
  // Socket errors keep their own words; unknown things are not TLS errors.
  t.is(describeTlsError(err('ECONNREFUSED')), undefined);
  t.is(describeTlsError(new Error('plain')), undefined);
  t.is(describeSocketError(err('ECONNREFUSED')), 'connection refused');
  t.regex(describeSocketError(err('DEPTH_ZERO_SELF_SIGNED_CERT')), /self-signed/);
});

test('a CA without a PEM certificate is refused instead of silently trusting nothing', (t) => {
  const error = t.throws(() =>
    connectSocket({ host: '127.0.0.1', port: 1, tls: { ca: 'not a certificate' } }),
  );
  t.is((error as { code?: string }).code, 'CONNECT_FAILED');
});

test('--ca reads the file and implies --tls; --tls alone trusts the bundled CAs', async (t) => {
  t.is(await readTlsFlags({}), undefined);
  t.is(await readTlsFlags({ tls: true }), true);
  const option = await readTlsFlags({ ca: certs.caCert });
  t.true(typeof option === 'object' && String(option.ca).includes('BEGIN CERTIFICATE'));
  await t.throwsAsync(readTlsFlags({ ca: certs.key }), { message: /holds no PEM certificate/ });
  await t.throwsAsync(readTlsFlags({ ca: join(certs.dir, 'none') }), { message: /no such file/ });
});
