// Forks one worker per slot, replaces a worker that dies (with back-off), and stops them all on shutdown.
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { ServerConfig } from '../config/server-config.js';
import {
  INSTANCE_ENV,
  isWorkerMessage,
  type PrimaryToWorker,
  WORKER_CONFIG_ENV,
  WORKER_SLOT_ENV,
} from '../ipc.js';
import type { Logger } from '../log/logger.js';
import type { TransferInfo } from '../metrics/transfers.js';
import { nextBackoff } from './backoff.js';

interface Slot {
  worker: Worker | null;
  startedAt: number;
  backoffMs: number;
  ready: boolean;
  timer: NodeJS.Timeout | null;
}

/** Events: 'ready' (slot, port), 'fatal' (message), 'exit' (slot, pid, code, signal), 'restart' (slot). */
export class Supervisor extends EventEmitter {
  private readonly slots: Slot[];
  private stopping = false;
  private nextRequest = 1;
  private readonly pendingTransfers = new Map<number, (transfers: TransferInfo[]) => void>();
  restarts = 0;
  /**
   * The announced port: --port, or with --port 0 the one the first worker got. Node's cluster closes a
   * listening handle no worker uses, so after the last worker is gone a new listen on 0 would get
   * another port (listenPort).
   */
  private port: number;

  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    private readonly instance: string,
  ) {
    super();
    this.port = config.port;
    this.slots = Array.from({ length: config.workers }, () => ({
      worker: null,
      startedAt: 0,
      backoffMs: 0,
      ready: false,
      timer: null,
    }));
  }

  get readyCount(): number {
    return this.slots.filter((slot) => slot.ready).length;
  }

  get expectedCount(): number {
    return this.slots.length;
  }

  start(): void {
    for (let i = 0; i < this.slots.length; i++) this.fork(i);
  }

  /**
   * What a worker asks the cluster to listen on. With --port 0 and another worker still listening, 0
   * joins that worker's handle (the announced port); with none left, the handle is gone and only the
   * announced port itself gets it back.
   */
  private listenPort(index: number): number {
    const shared = this.slots.some((slot, i) => i !== index && slot.ready && slot.worker?.isDead() === false);
    return shared ? this.config.port : this.port;
  }

  private fork(index: number): void {
    const slot = this.slots[index] as Slot;
    slot.timer = null;
    const worker = cluster.fork({
      [WORKER_SLOT_ENV]: String(index),
      [WORKER_CONFIG_ENV]: JSON.stringify({ ...this.config, port: this.listenPort(index) }),
      [INSTANCE_ENV]: this.instance,
    });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.ready = false;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'filehive:ready') {
        if (this.port === 0) this.port = message.port;
        slot.ready = true;
        this.emit('ready', index, message.port);
      } else if (message.type === 'filehive:fatal') {
        this.emit('fatal', message.message);
      } else if (message.type === 'filehive:transfers') {
        this.pendingTransfers.get(message.id)?.(message.transfers);
      }
    });
    worker.on('exit', (code, signal) => this.onExit(index, worker, code, signal));
  }

  private onExit(index: number, worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots[index] as Slot;
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    this.emit('exit', index, worker.process.pid, code, signal);
    if (this.stopping) return;
    const uptime = Date.now() - slot.startedAt;
    slot.backoffMs = nextBackoff(slot.backoffMs, uptime);
    this.restarts++;
    this.emit('restart', index);
    this.log.warn(
      { worker: index, pid: worker.process.pid, code, signal, uptimeMs: uptime, respawnInMs: slot.backoffMs },
      `worker ${index} died (${signal ? `signal ${signal}` : `exit code ${code}`}), replacing it`,
    );
    slot.timer = setTimeout(() => this.fork(index), slot.backoffMs);
  }

  /** Asks every worker to finish within `graceMs`, kills stragglers a little later; resolves when all exited. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const exits: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      const worker = slot.worker;
      if (!worker || worker.isDead()) continue;
      exits.push(new Promise((resolve) => worker.once('exit', resolve)));
      const message: PrimaryToWorker = { type: 'filehive:shutdown', graceMs };
      if (worker.isConnected()) worker.send(message);
      const kill = setTimeout(() => {
        this.log.warn({ worker: worker.id }, 'worker did not stop in time, killing it');
        worker.process.kill('SIGKILL');
      }, graceMs + 5_000);
      kill.unref();
      worker.once('exit', () => clearTimeout(kill));
    }
    await Promise.all(exits);
  }

  /** Asks every live worker for its running transfers; a worker silent for `timeoutMs` is left out. */
  async collectTransfers(timeoutMs: number): Promise<TransferInfo[]> {
    const asks = this.slots
      .map((slot) => slot.worker)
      .filter((worker): worker is Worker => worker?.isConnected() === true)
      .map(
        (worker) =>
          new Promise<TransferInfo[]>((resolve) => {
            const id = this.nextRequest++;
            const timer = setTimeout(() => {
              this.pendingTransfers.delete(id);
              resolve([]);
            }, timeoutMs);
            this.pendingTransfers.set(id, (transfers) => {
              clearTimeout(timer);
              this.pendingTransfers.delete(id);
              resolve(transfers);
            });
            const message: PrimaryToWorker = { type: 'filehive:transfers-request', id };
            worker.send(message);
          }),
      );
    return (await Promise.all(asks)).flat();
  }

  /** Immediate stop (a second Ctrl-C). */
  killAll(): void {
    this.stopping = true;
    for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
  }
}
