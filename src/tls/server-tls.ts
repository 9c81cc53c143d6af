// TLS on the file port (docs/SECURITY.md#tls): the primary checks the certificate and key once at start,
// each worker loads them and serves tls.Server instead of net.Server.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { createSecureContext, createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Logger } from '../log/logger.js';
import { clientOf } from '../net/proxy-accept.js';

/** A client must finish its handshake this fast: a peer that connects and stays silent holds a socket. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** TLS 1.0 and 1.1 are broken; 1.2 is what every supported Node and OpenSSL speak. */
export const TLS_MIN_VERSION = 'TLSv1.2';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** What the ready log says about the certificate. */
export interface TlsCertificateInfo {
  subject: string;
  subjectAltName: string;
  validTo: string;
}

export type TlsCheck = { ok: true; info: TlsCertificateInfo } | { ok: false; message: string };

function codeOf(err: unknown): string {
  return (err as { code?: string }).code ?? '';
}

function reasonOf(err: unknown): string {
  const e = err as { reason?: string; code?: string; message?: string };
  return e.reason ?? e.code ?? String(e.message ?? err).split('\n')[0] ?? 'unknown error';
}

/** Turns the two PEM files into a secure context, or into one line naming the file and the fix. */
function checkMaterial(files: TlsFiles, material: TlsMaterial): string | null {
  try {
    createSecureContext({ cert: material.cert });
  } catch (err) {
    if (codeOf(err) === 'ERR_OSSL_PEM_NO_START_LINE') {
      return `--tls-cert ${files.certFile} holds no PEM certificate`;
    }
    return `--tls-cert ${files.certFile}: ${reasonOf(err)}`;
  }
  try {
    createSecureContext({ key: material.key });
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ERR_OSSL_BAD_DECRYPT') {
      return `--tls-key ${files.keyFile} is encrypted; give it unencrypted (openssl pkey -in FILE -out FILE2)`;
    }
    if (code === 'ERR_OSSL_UNSUPPORTED' || code === 'ERR_OSSL_PEM_NO_START_LINE') {
      return `--tls-key ${files.keyFile} holds no PEM private key`;
    }
    return `--tls-key ${files.keyFile}: ${reasonOf(err)}`;
  }
  try {
    createSecureContext({ cert: material.cert, key: material.key, minVersion: TLS_MIN_VERSION });
  } catch (err) {
    if (codeOf(err) === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      return `--tls-key ${files.keyFile} is not the key of the certificate in --tls-cert ${files.certFile}`;
    }
    return `cannot use --tls-cert ${files.certFile} with --tls-key ${files.keyFile}: ${reasonOf(err)}`;
  }
  return null;
}

function describeCertificate(pem: Buffer): TlsCertificateInfo {
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject.replaceAll('\n', ', '),
    subjectAltName: cert.subjectAltName ?? '',
    validTo: new Date(cert.validTo).toISOString(),
  };
}

/** The primary's start-up check: both files readable, PEM, and a matching pair. */
export async function checkServerTls(files: TlsFiles): Promise<TlsCheck> {
  const read = async (flag: string, file: string): Promise<Buffer | string> => {
    try {
      return await readFile(file);
    } catch (err) {
      return `cannot read ${flag} ${file}: ${codeOf(err) || reasonOf(err)}`;
    }
  };
  const cert = await read('--tls-cert', files.certFile);
  if (typeof cert === 'string') return { ok: false, message: cert };
  const key = await read('--tls-key', files.keyFile);
  if (typeof key === 'string') return { ok: false, message: key };
  const message = checkMaterial(files, { cert, key });
  if (message !== null) return { ok: false, message };
  return { ok: true, info: describeCertificate(cert) };
}

/**
 * A tls.Server whose `listener` gets each socket once its handshake is done, with the same socket
 * options a plain server gets. The files are read synchronously: this runs once, while a worker starts.
 * Handshake failures (plain-text clients, scanners, clients refusing the certificate, peers too slow
 * to finish) are logged and their sockets destroyed; they never reach a session.
 */
export function createTlsFileServer(
  files: TlsFiles,
  socketOptions: { noDelay: boolean; highWaterMark: number },
  listener: (socket: Socket) => void,
  log: Logger,
  onFailure?: (failure: 'rejected' | 'timeout' | 'abandoned') => void,
): Server {
  const options: TlsOptions = {
    ...socketOptions,
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
    minVersion: TLS_MIN_VERSION,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
  const server = createServer(options, listener);
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    // Unknown once the peer has reset the connection. Behind a trusted proxy: the client its PROXY header named.
    const client = clientOf(socket);
    const peer = client.address ? `${client.address}:${client.port}` : undefined;
    const fields = { peer, ...(client.proxy ? { proxy: client.proxy } : {}) };
    const code = err.code ?? 'unknown';
    // A peer that hangs up mid-handshake is ordinary (a client refusing the certificate may do so);
    // anything else is a client speaking something other than TLS 1.2+, or too slowly.
    if (code === 'ECONNRESET') log.debug({ ...fields, code }, 'TLS handshake abandoned by the client');
    else log.info({ ...fields, code, reason: reasonOf(err) }, 'TLS handshake failed, connection closed');
    onFailure?.(
      code === 'ECONNRESET' ? 'abandoned' : code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout' : 'rejected',
    );
    // Node leaves a timed-out handshake's socket open: without this, silent peers would pile up.
    socket.destroy();
  });
  return server;
}
