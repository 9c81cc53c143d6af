// What the sections share in one run: the config, the report, a scratch folder, servers started on first
// use (and stopped at the end), peak memory seen during transfers, and figures a later section builds on.
import { join } from 'node:path';
import type { BenchConfig, Mode } from './config.js';
import { type RunningServer, startFilehive } from './filehive.js';
import { type Pipe, startPipe } from './pipe.js';
import type { Report } from './report.js';
import { findVsftpd, startVsftpd, type Vsftpd } from './vsftpd.js';

/** Figures one section measures and another relates to, one value per round. */
export interface Figures {
  /** iperf3 bytes per second (limits). */
  iperf3?: number[];
  /** filehive single-stream upload MB/s with the default checksum (single). */
  singleUpload?: number[];
  singleDownload?: number[];
}

export class BenchContext {
  /** Raw figures written to the JSON beside the table, one key per section. */
  readonly raw: Record<string, unknown> = {};
  /** Per label, the peak RSS in bytes of each round (memory). */
  readonly peaks = new Map<string, number[]>();
  readonly figures: Figures = {};
  private readonly started: { stop(): Promise<unknown> }[] = [];
  private readonly servers = new Map<string, Promise<RunningServer>>();
  private pipe: Promise<Pipe> | undefined;
  private peer: Promise<Vsftpd | null> | undefined;

  constructor(
    readonly mode: Mode,
    readonly cfg: BenchConfig,
    readonly report: Report,
    readonly work: string,
  ) {}

  pipeServer(): Promise<Pipe> {
    this.pipe ??= startPipe().then((p) => this.track(p));
    return this.pipe;
  }

  /** One shared server per distinct (workers, args); a section that needs a fresh one starts its own. */
  filehive(workers: number, args: readonly string[] = []): Promise<RunningServer> {
    const key = `${workers} ${args.join(' ')}`;
    let server = this.servers.get(key);
    if (!server) {
      server = startFilehive(workers, args).then((s) => this.track(s));
      this.servers.set(key, server);
    }
    return server;
  }

  /** The vsftpd peer when peers are on and it is present; otherwise null, said once as skipped. */
  vsftpd(): Promise<Vsftpd | null> {
    this.peer ??= this.startPeer();
    return this.peer;
  }

  notePeak(label: string, peaks: Map<number, number>): void {
    const values = this.peaks.get(label) ?? [];
    values.push(Math.max(0, ...peaks.values()));
    this.peaks.set(label, values);
  }

  async close(): Promise<void> {
    for (const s of this.started.reverse()) await s.stop().catch(() => {});
  }

  private track<T extends { stop(): Promise<unknown> }>(thing: T): T {
    this.started.push(thing);
    return thing;
  }

  private async startPeer(): Promise<Vsftpd | null> {
    if (!this.cfg.peers) return null;
    const found = await findVsftpd();
    if (!found) {
      this.report.skip(
        'vsftpd is not installed (npm run bench -- --install-peers extracts it into .cache/peers)',
      );
      return null;
    }
    try {
      return this.track(await startVsftpd(found, join(this.work, 'vsftpd')));
    } catch (err) {
      this.report.skip(`vsftpd did not start: ${(err as Error).message.split('\n')[0]}`);
      return null;
    }
  }
}
