// Test certificates, made with the openssl CLI in a temporary folder: a private CA, a server certificate
// it signs (for 127.0.0.1 and localhost unless told otherwise), a self-signed certificate, and a key that
// belongs to neither. Nothing is checked in, so nothing expires in the repository.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  readonly dir: string;
  /** The private CA's certificate (what a client passes as --ca). */
  readonly caCert: string;
  /** Server certificate signed by the CA, and its key. */
  readonly cert: string;
  readonly key: string;
  /** A self-signed server certificate (same names) and its key: no CA vouches for it. */
  readonly selfSignedCert: string;
  readonly selfSignedKey: string;
  /** A private key that matches none of the certificates. */
  readonly otherKey: string;
  remove(): Promise<void>;
}

export interface CertificateOptions {
  /** subjectAltName entries of the server certificates (default IP:127.0.0.1 and DNS:localhost). */
  altNames?: string[];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl not found: the TLS tests need the openssl CLI');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes a fresh set of certificates valid for two days; call remove() when done. */
export async function createTestCertificates(options: CertificateOptions = {}): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-tls-'));
  const altNames = (options.altNames ?? ['IP:127.0.0.1', 'DNS:localhost']).join(',');
  const path = (name: string) => join(dir, name);
  // Extensions in a file, not -addext/-copy_extensions, so OpenSSL 1.1 and 3 both accept them.
  await writeFile(
    path('server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${altNames}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    path('ca.ext'),
    ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', ''].join('\n'),
  );
  // Each certificate: a new key and CSR, then the CSR signed by its own key (the CA, the self-signed
  // one) or by the CA, with its extensions from a file.
  const issue = async (name: string, cn: string, signer: 'self' | 'ca', ext: string) => {
    await openssl(
      ['req', '-new', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', cn],
      dir,
    );
    const by =
      signer === 'self'
        ? ['-signkey', `${name}.key`]
        : ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '2'];
    await openssl(
      ['x509', '-req', '-in', `${name}.csr`, ...by, '-out', `${name}.pem`, '-days', '2', '-extfile', ext],
      dir,
    );
  };
  await issue('ca', '/CN=filehive test CA', 'self', 'ca.ext');
  await issue('server', '/CN=filehive test', 'ca', 'server.ext');
  await issue('self', '/CN=filehive self', 'self', 'server.ext');
  await openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other.key'],
    dir,
  );
  return {
    dir,
    caCert: path('ca.pem'),
    cert: path('server.pem'),
    key: path('server.key'),
    selfSignedCert: path('self.pem'),
    selfSignedKey: path('self.key'),
    otherKey: path('other.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
