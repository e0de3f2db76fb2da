/**
 * Terminal output helpers: rates, counts, and a progress bar that appears only
 * on an interactive terminal (never with --json, never in a pipe).
 */
import cliProgress from 'cli-progress';

export { formatCount, formatRate } from '../core/format.js';
import { formatRate } from '../core/format.js';

export interface Progress {
  update(done: number, rate?: number): void;
  stop(): void;
}

/** A progress bar on stderr, or nothing when stderr is not a terminal or quiet is set. */
export function progressBar(total: number, label: string, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate} | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: '-' });
  return {
    update: (done, rate) => bar.update(done, { rate: rate === undefined ? '-' : formatRate(rate) }),
    stop: () => bar.stop(),
  };
}
