// Reads the metrics sidecar of a test server: one sample summed over the workers.
import type { RunningServer } from './server.js';

/**
 * The sum over every worker of the samples of `name` whose labels include `labels`, e.g.
 * sampleSum(text, 'filehive_refusals_total', { reason: 'too_large' }). 0 when there is none.
 */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const m of text.matchAll(/^([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/gm)) {
    if (m[1] !== name) continue;
    const have = new Map(
      [...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The server's /metrics text; fails the caller when the sidecar is off or answers an error. */
export async function scrape(server: RunningServer): Promise<string> {
  if (server.metricsUrl === null) throw new Error('this server runs without the metrics sidecar');
  const response = await fetch(`${server.metricsUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}
