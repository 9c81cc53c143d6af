// One line for each way a TLS connection fails, from the client's side (docs/SECURITY.md#tls). Pure.
import type { PeerCertificate } from 'node:tls';

const UNTRUSTED = 'certificate not trusted';
const USE_CA = '(use --ca FILE)';

/** What a certificate check failing means, by OpenSSL's verify code. */
const VERIFY_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: `${UNTRUSTED}: the server's certificate is self-signed ${USE_CA}`,
  SELF_SIGNED_CERT_IN_CHAIN: `${UNTRUSTED}: issued by an unknown CA ${USE_CA}`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `${UNTRUSTED}: issued by an unknown CA ${USE_CA}`,
  UNABLE_TO_GET_ISSUER_CERT: `${UNTRUSTED}: issued by an unknown CA ${USE_CA}`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `${UNTRUSTED}: issued by an unknown CA ${USE_CA}`,
  CERT_HAS_EXPIRED: `${UNTRUSTED}: the server's certificate has expired`,
  CERT_NOT_YET_VALID: `${UNTRUSTED}: the server's certificate is not valid yet`,
  CERT_REVOKED: `${UNTRUSTED}: the server's certificate was revoked`,
  CERT_SIGNATURE_FAILURE: `${UNTRUSTED}: its signature does not verify`,
  INVALID_CA: `${UNTRUSTED}: a certificate in its chain is not a CA`,
};

/** Not TLS coming back: most likely a plain-text filehive server greeting us. */
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/** One line for a TLS failure, or undefined when `err` is not one. */
export function describeTlsError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { reason?: string; host?: string; cert?: PeerCertificate };
  const code = e?.code;
  if (code === undefined) return undefined;
  const known = VERIFY_ERRORS[code];
  if (known !== undefined) return known;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = e.cert?.subjectaltname;
    return `${UNTRUSTED}: it is not for ${e.host ?? 'this host'}${names ? ` (it names ${names})` : ''}`;
  }
  if (NOT_TLS.has(code)) return 'the server does not speak TLS on this port (leave out --tls)';
  if (code.startsWith('ERR_SSL_')) {
    return `TLS handshake failed: ${e.reason ?? code.slice('ERR_SSL_'.length).toLowerCase().replaceAll('_', ' ')}`;
  }
  return undefined;
}
