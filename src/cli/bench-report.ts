/**
 * What every benchmark result shares: where it ran, latency quantiles, and
 * where its JSON goes (bench/results/<kind>-<host>.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../engine/paths.js';

/** The machine and runtime a result was measured on. */
export const benchEnvironment = () => ({
  date: new Date().toISOString(),
  host: hostname(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  node: process.version,
});

export interface Quantiles {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

/** p50, p99 and max of `xs` (0 for an empty list). */
export function quantiles(xs: readonly number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { samples: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? 0 };
}

/** Writes `result` as bench/results/<kind>-<host>.json (or under `dir`); returns the path. */
export function writeBenchResult(kind: string, result: unknown, dir = join(PACKAGE_ROOT, 'bench', 'results')): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${kind}-${hostname()}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
