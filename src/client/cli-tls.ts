// The CLI's --tls and --ca flags, turned into the library's `tls` option once, before connecting.
import { readFile } from 'node:fs/promises';
import { FilehiveClientError, localError } from './errors.js';
import type { TlsConnectOption } from './tls-connect.js';

/** `--ca FILE` alone implies `--tls`: trusting a CA only means something over TLS. */
export async function readTlsFlags(flags: {
  tls?: boolean;
  ca?: string;
}): Promise<TlsConnectOption | undefined> {
  const { ca } = flags;
  if (ca === undefined) return flags.tls ? true : undefined;
  const pem = await readFile(ca, 'utf8').catch((err) => {
    throw localError('read', ca, err);
  });
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new FilehiveClientError('LOCAL_ERROR', `--ca ${ca} holds no PEM certificate`);
  }
  return { ca: pem };
}
