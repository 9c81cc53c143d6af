// 3b. TLS: what --tls-cert costs. One large file up and down (the single section's size) on a plain server
// and on a TLS server of the same build, interleaved in the same rounds, as a ratio; and the time to open
// a session (connect, handshake, greeting, QUIT). Certificates are made with openssl for the run.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FilehiveClient } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/greeting.js';
import { createTestCertificates } from '../../tests/_helpers/tls-certs.js';
import type { BenchContext } from '../lib/context.js';
import { type RunningServer, startFilehive, workersOf } from '../lib/filehive.js';
import { makeFile, mbps, timed } from '../lib/measure.js';
import { sampleRss } from '../lib/sampler.js';

type Variant = 'plain' | 'TLS';
type Figures = Record<'up' | 'down' | 'sessionMs', number[]>;

async function withSession<T>(options: ConnectOptions, fn: (c: FilehiveClient) => Promise<T>): Promise<T> {
  const client = await FilehiveClient.connect(options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Mean milliseconds to open a session and close it again, over `count` sessions one after another. */
async function sessionSetupMs(options: ConnectOptions, count: number): Promise<number> {
  const ms = await timed(async () => {
    for (let i = 0; i < count; i++) await withSession(options, async () => undefined);
  });
  return ms / count;
}

export async function runTls(ctx: BenchContext): Promise<void> {
  const { cfg, report } = ctx;
  let certs: Awaited<ReturnType<typeof createTestCertificates>>;
  try {
    certs = await createTestCertificates();
  } catch (err) {
    report.skip(`tls: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  let tlsServer: RunningServer | undefined;
  try {
    const plain = await ctx.filehive(2);
    tlsServer = await startFilehive(2, ['--tls-cert', certs.cert, '--tls-key', certs.key]);
    const ca = { ca: await readFile(certs.caCert) };
    const targets: Record<Variant, ConnectOptions> = {
      plain: { host: '127.0.0.1', port: plain.port },
      TLS: { host: '127.0.0.1', port: tlsServer.port, tls: ca },
    };
    const big = join(ctx.work, 'tls-big.bin');
    await makeFile(big, cfg.large);
    const dl = join(ctx.work, 'tls-dl');
    await mkdir(dl, { recursive: true });
    const sessions = Math.max(20, Math.min(200, Math.round(cfg.small / 5)));
    const figures: Record<Variant, Figures> = {
      plain: { up: [], down: [], sessionMs: [] },
      TLS: { up: [], down: [], sessionMs: [] },
    };
    for (let r = 0; r < cfg.rounds; r++) {
      // Alternate which goes first, so neither always runs on a warmer page cache.
      const order: Variant[] = r % 2 === 0 ? ['plain', 'TLS'] : ['TLS', 'plain'];
      for (const variant of order) {
        const f = figures[variant];
        const sampler = variant === 'TLS' ? sampleRss(await workersOf(tlsServer)) : null;
        await withSession(targets[variant], async (c) => {
          f.up.push(mbps(cfg.large, await timed(() => c.upload(big, { remoteName: 'tls-big.bin' }))));
          f.down.push(mbps(cfg.large, await timed(() => c.download('tls-big.bin', { dir: dl }))));
        });
        if (sampler) ctx.notePeak('filehive worker (TLS)', await sampler.stop());
        await rm(join(dl, 'tls-big.bin'), { force: true });
        f.sessionMs.push(await sessionSetupMs(targets[variant], sessions));
      }
    }
    await rm(big, { force: true });

    const { plain: p, TLS: t } = figures;
    report.add('tls', 'plain upload', 'MB/s', p.up);
    report.add('tls', 'TLS upload', 'MB/s', t.up, { values: p.up, vs: 'plain' });
    report.add('tls', 'plain download', 'MB/s', p.down);
    report.add('tls', 'TLS download', 'MB/s', t.down, { values: p.down, vs: 'plain' });
    report.add('tls', `plain session open+close (${sessions} in a row)`, 'ms', p.sessionMs);
    report.add('tls', `TLS session open+close (${sessions} in a row)`, 'ms', t.sessionMs, {
      values: p.sessionMs,
      vs: 'plain',
    }).note = 'TLS 1.3, ECDSA P-256 certificate, no session resumption';
    ctx.raw.tls = { bytes: cfg.large, sessions, figures };
  } finally {
    await tlsServer?.stop();
    await certs.remove();
  }
}
