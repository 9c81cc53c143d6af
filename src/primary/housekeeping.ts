// The primary's background care of the lock folder and the tree: the lock janitor, and the sweep for
// orphaned upload temp files and for expired partials of resumable uploads, at start and every
// --sweep-interval.
import type { ServerConfig } from '../config/server-config.js';
import { ClockProbe } from '../locks/clock-probe.js';
import { LockJanitor, type TakeoverReason } from '../locks/janitor.js';
import { LockManager } from '../locks/lock-manager.js';
import type { Logger } from '../log/logger.js';
import { partialFolderOf, sweepPartials } from '../storage/partial-store.js';
import { sweepTempFiles } from '../storage/temp-sweeper.js';

export interface HousekeepingEvents {
  onTakeover?: (reason: TakeoverReason, futureMs: number) => void;
  onSwept?: (count: number) => void;
  /** Each clock skew estimate against the lock folder's filesystem, in ms (positive: this host ahead). */
  onClockSkew?: (skewMs: number) => void;
}

export class Housekeeping {
  readonly janitor: LockJanitor;
  private readonly clock: ClockProbe;
  private sweepTimer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;

  private constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    private readonly locks: LockManager,
    instance: string,
    private readonly events: HousekeepingEvents,
  ) {
    this.janitor = new LockJanitor({
      dir: config.lockDir,
      root: config.root,
      staleMs: config.lockStaleMs,
      instance,
      log,
      ...(events.onTakeover ? { onTakeover: events.onTakeover } : {}),
      // The temp file of a short upload whose holder died: sweep once it is older than the stale period.
      onOrphanedTemp: () => this.sweepSoon(),
    });
    this.clock = new ClockProbe({
      dir: config.lockDir,
      log,
      ...(events.onClockSkew ? { onSkew: events.onClockSkew } : {}),
    });
  }

  static async create(config: ServerConfig, log: Logger, instance: string, events: HousekeepingEvents = {}) {
    const locks = await LockManager.open({
      dir: config.lockDir,
      staleMs: config.lockStaleMs,
      waitMs: 0,
      instance,
    });
    return new Housekeeping(config, log, locks, instance, events);
  }

  start(): void {
    this.janitor.start();
    this.clock.start();
    void this.sweep();
    if (this.config.sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => void this.sweep(), this.config.sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  stop(): void {
    this.janitor.stop();
    this.clock.stop();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.soon) clearTimeout(this.soon);
  }

  /** One sweep a little after the stale period, however many holders died meanwhile. */
  private sweepSoon(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.sweep();
    }, this.config.lockStaleMs + 1_000);
    this.soon.unref();
  }

  async sweep(): Promise<void> {
    // Ages are mtimes the file server stamped, so they are judged by its clock, not this host's: a host
    // an hour ahead would otherwise find an upload's fresh temp file an hour old (docs/LOCKS.md).
    await this.clock.firstProbe;
    const now = this.clock.filesystemNow();
    try {
      const { scanned, removed } = await sweepTempFiles({
        root: this.config.root,
        olderThanMs: this.config.lockStaleMs,
        isHeld: (id, name) => this.locks.mayUseTemp(id, name),
        now,
      });
      if (removed.length > 0)
        this.log.info({ scanned, removed: removed.length }, 'removed orphaned upload temp files');
      this.events.onSwept?.(removed.length);
    } catch (err) {
      this.log.warn({ err }, 'temp file sweep failed');
    }
    try {
      // Unexpired partials are kept on purpose: a client may come back to resume them.
      const { removed } = await sweepPartials({
        dir: partialFolderOf(this.config.root),
        ttlMs: this.config.partialTtlMs,
        isHeld: (id) => this.locks.isHeld(id),
        now,
      });
      if (removed.length > 0)
        this.log.info({ removed: removed.length }, 'removed expired partial uploads (--partial-ttl)');
    } catch (err) {
      this.log.warn({ err }, 'partial upload sweep failed');
    }
  }
}
