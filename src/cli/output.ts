/**
 * Terminal output helpers: rates, counts, and a progress bar that appears only
 * on an interactive terminal (never with --json, never in a pipe).
 */
import cliProgress from 'cli-progress';

export const formatRate = (hashesPerSecond: number): string => {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s'];
  let v = hashesPerSecond;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 2)} ${units[i]}`;
};

export const formatCount = (n: number): string => n.toLocaleString('en-US');

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
