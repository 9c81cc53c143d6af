// Logging: pino, one line per event, on stderr. `pretty` rewrites each JSON record as one readable line;
// `json` passes pino's records through for machines.
import { type Logger, pino } from 'pino';
import type { LogFormat, LogLevel } from '../config/server-config.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'proc']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value) {
    const err = value as { type?: string; message?: string; stack?: string; code?: string };
    return JSON.stringify(err.stack ?? `${err.type ?? 'Error'}: ${err.message}`);
  }
  return JSON.stringify(value);
}

/** Turns one pino JSON record into `TIME LEVEL [proc] message key=value ...`. */
export function formatPretty(record: Record<string, unknown>): string {
  const time = new Date(Number(record.time)).toISOString();
  const level = (LEVEL_NAMES[Number(record.level)] ?? String(record.level)).padEnd(5);
  const extras = Object.entries(record)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return `${time} ${level} [${String(record.proc ?? '-')}] ${String(record.msg ?? '')}${extras.length ? ` ${extras.join(' ')}` : ''}\n`;
}

export function createLogger(options: { level: LogLevel; format: LogFormat; proc: string }): Logger {
  const base = { proc: options.proc };
  if (options.format === 'json') {
    return pino(
      { level: options.level, base: { ...base, pid: process.pid } },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  const stream = {
    write(line: string): void {
      try {
        process.stderr.write(formatPretty(JSON.parse(line) as Record<string, unknown>));
      } catch {
        process.stderr.write(line);
      }
    },
  };
  return pino({ level: options.level, base }, stream);
}
