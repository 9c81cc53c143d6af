// Every metric a worker exports, defined in one place; call sites use the verbs at the bottom.
// Each series carries `worker="<slot>"` (a default label): a replacement worker reuses its slot, so a
// restart is an ordinary counter reset that rate() handles, and dashboards use sum(rate(...)).
import { Counter, collectDefaultMetrics, Gauge, Histogram, register } from 'prom-client';

export type Direction = 'upload' | 'download';
const DIRECTIONS: readonly Direction[] = ['upload', 'download'];
export const COMMAND_NAMES = [
  'UPLOAD',
  'DOWNLOAD',
  'DELETE',
  'DIR',
  'MKDIR',
  'RMDIR',
  'CHDIR',
  'MOVE',
  'PWD',
  'NOOP',
  'QUIT',
  'CHECKSUM',
] as const;
export const LOCK_OPS = ['upload', 'delete', 'move', 'mkdir', 'rmdir'] as const;
/** Why a limit of docs/SECURITY.md#limits stopped a client (label `reason` of filehive_refusals_total). */
export const REFUSAL_REASONS = [
  'too_large',
  'no_space',
  'disk_full',
  'idle_timeout',
  'stall_timeout',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
/** Why a trusted proxy's connection got no valid PROXY header (label of filehive_proxy_header_failures_total). */
export const PROXY_HEADER_FAILURES = ['invalid', 'timeout', 'closed'] as const;
export type ProxyHeaderFailure = (typeof PROXY_HEADER_FAILURES)[number];
/** Why a TLS handshake did not complete (label of filehive_tls_handshake_failures_total). */
export const TLS_HANDSHAKE_FAILURES = ['rejected', 'timeout', 'abandoned'] as const;
export type TlsHandshakeFailure = (typeof TLS_HANDSHAKE_FAILURES)[number];

/** 1 ms .. ~17 min: small files take milliseconds, a large upload on a slow link many minutes. */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200,
];
/** 1 MB/s .. 10 GB/s per transfer. */
const THROUGHPUT_BUCKETS = [1e6, 5e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 7.5e8, 1e9, 1.5e9, 2e9, 3e9, 5e9, 1e10];
const LOCK_WAIT_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export const uploadBytes = new Counter({
  name: 'filehive_upload_bytes_total',
  help: 'Bytes received by uploads, counted as they arrive.',
});
export const downloadBytes = new Counter({
  name: 'filehive_download_bytes_total',
  help: 'Bytes sent by downloads, counted as they leave.',
});
const transfersStarted = new Counter({
  name: 'filehive_transfers_started_total',
  help: 'Transfers that began moving bytes (after GO or DATA).',
  labelNames: ['direction'],
});
const transfersCompleted = new Counter({
  name: 'filehive_transfers_completed_total',
  help: 'Transfers that completed successfully.',
  labelNames: ['direction'],
});
const transfersFailed = new Counter({
  name: 'filehive_transfers_failed_total',
  help: 'Transfers that began and did not complete, by result code.',
  labelNames: ['direction', 'code'],
});
const transferDuration = new Histogram({
  name: 'filehive_transfer_duration_seconds',
  help: 'Duration of completed transfers, from the first to the last byte.',
  labelNames: ['direction'],
  buckets: DURATION_BUCKETS,
});
const transferThroughput = new Histogram({
  name: 'filehive_transfer_throughput_bytes_per_second',
  help: 'Byte rate of each completed transfer of at least 1 MiB.',
  labelNames: ['direction'],
  buckets: THROUGHPUT_BUCKETS,
});
const transfersActive = new Gauge({
  name: 'filehive_transfers_active',
  help: 'Transfers moving bytes right now.',
  labelNames: ['direction'],
});
const bytesInFlight = new Gauge({
  name: 'filehive_transfer_bytes_pending',
  help: 'Bytes announced by running transfers and not yet moved.',
  labelNames: ['direction'],
});
const commands = new Counter({
  name: 'filehive_commands_total',
  help: 'Commands handled, by command and result code (OK or the error code).',
  labelNames: ['command', 'code'],
});
const connectionsActive = new Gauge({
  name: 'filehive_connections_active',
  help: 'Open client connections.',
});
const connectionsAccepted = new Counter({
  name: 'filehive_connections_accepted_total',
  help: 'Client connections accepted.',
});
const lockAcquisitions = new Counter({
  name: 'filehive_lock_acquisitions_total',
  help: 'Locks taken, by operation.',
  labelNames: ['op'],
});
const lockBusy = new Counter({
  name: 'filehive_lock_busy_total',
  help: 'Requests refused with BUSY because of a lock, by the refused operation.',
  labelNames: ['op'],
});
const lockWait = new Histogram({
  name: 'filehive_lock_wait_seconds',
  help: 'Time from asking for a lock to holding it.',
  labelNames: ['op'],
  buckets: LOCK_WAIT_BUCKETS,
});
const refusals = new Counter({
  name: 'filehive_refusals_total',
  help: 'Uploads refused or sessions cut by a server limit, by reason.',
  labelNames: ['reason'],
});
const lockCompromised = new Counter({
  name: 'filehive_lock_compromised_total',
  help: 'Locks lost while held (the operation under them was aborted).',
});
const proxyHeaderFailures = new Counter({
  name: 'filehive_proxy_header_failures_total',
  help: 'Connections from a trusted proxy closed without a valid PROXY header, by reason.',
  labelNames: ['reason'],
});
const tlsHandshakeFailures = new Counter({
  name: 'filehive_tls_handshake_failures_total',
  help: 'Connections closed before their TLS handshake completed, by reason.',
  labelNames: ['reason'],
});

/** Starts collection in a worker: default process metrics, every series labelled with the slot. */
export function initWorkerMetrics(slot: number): void {
  register.setDefaultLabels({ worker: String(slot) });
  collectDefaultMetrics({ eventLoopMonitoringPrecision: 10 });
  // Known label values start at zero, so rate() sees the first event and dashboards have series at once.
  for (const direction of DIRECTIONS) {
    transfersStarted.inc({ direction }, 0);
    transfersCompleted.inc({ direction }, 0);
    transfersActive.set({ direction }, 0);
    bytesInFlight.set({ direction }, 0);
    transferDuration.zero({ direction });
    transferThroughput.zero({ direction });
  }
  for (const op of LOCK_OPS) {
    lockAcquisitions.inc({ op }, 0);
    lockBusy.inc({ op }, 0);
    lockWait.zero({ op });
  }
  for (const reason of REFUSAL_REASONS) refusals.inc({ reason }, 0);
  for (const reason of PROXY_HEADER_FAILURES) proxyHeaderFailures.inc({ reason }, 0);
  for (const reason of TLS_HANDSHAKE_FAILURES) tlsHandshakeFailures.inc({ reason }, 0);
  uploadBytes.inc(0);
  downloadBytes.inc(0);
  lockCompromised.inc(0);
}

export const metrics = {
  connectionOpened(): void {
    connectionsAccepted.inc();
    connectionsActive.inc();
  },
  connectionClosed(): void {
    connectionsActive.dec();
  },
  commandDone(command: string, code: string): void {
    commands.inc({ command, code });
  },
  transferStarted(direction: Direction, bytes: number): void {
    transfersStarted.inc({ direction });
    transfersActive.inc({ direction });
    bytesInFlight.inc({ direction }, bytes);
  },
  /** Called as bytes move, so rate() shows a live byte rate during one long transfer. */
  transferProgress(direction: Direction, bytes: number): void {
    (direction === 'upload' ? uploadBytes : downloadBytes).inc(bytes);
    bytesInFlight.dec({ direction }, bytes);
  },
  transferEnded(direction: Direction, code: string, leftBytes: number, seconds: number, bytes: number): void {
    transfersActive.dec({ direction });
    if (leftBytes > 0) bytesInFlight.dec({ direction }, leftBytes);
    if (code === 'OK') {
      transfersCompleted.inc({ direction });
      transferDuration.observe({ direction }, seconds);
      if (bytes >= 1 << 20 && seconds > 0) transferThroughput.observe({ direction }, bytes / seconds);
    } else {
      transfersFailed.inc({ direction, code });
    }
  },
  lockAcquired(op: string, waitedMs: number): void {
    lockAcquisitions.inc({ op });
    lockWait.observe({ op }, waitedMs / 1000);
  },
  lockBusy(op: string): void {
    lockBusy.inc({ op });
  },
  lockCompromised(): void {
    lockCompromised.inc();
  },
  refused(reason: RefusalReason): void {
    refusals.inc({ reason });
  },
  proxyHeaderFailed(reason: ProxyHeaderFailure): void {
    proxyHeaderFailures.inc({ reason });
  },
  tlsHandshakeFailed(reason: TlsHandshakeFailure): void {
    tlsHandshakeFailures.inc({ reason });
  },
};
