// The sections in run order; bench/run.ts runs those that --only selects.
import type { SectionName } from '../lib/config.js';
import type { BenchContext } from '../lib/context.js';
import { runConcurrency } from './concurrency.js';
import { runLimits } from './limits.js';
import { runMemory } from './memory.js';
import { runParts } from './parts.js';
import { runSingle } from './single.js';
import { runSmall } from './small.js';
import { runTls } from './tls.js';

export const SECTIONS: Record<SectionName, (ctx: BenchContext) => Promise<void>> = {
  limits: runLimits,
  single: runSingle,
  tls: runTls,
  small: runSmall,
  concurrency: runConcurrency,
  memory: runMemory,
  parts: runParts,
};
