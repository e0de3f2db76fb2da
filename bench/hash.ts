/**
 * npm run bench:hash — the same measurement as `hashgrid bench`:
 * sha256d rates of every CPU path and the baselines, plus job-switch latency.
 * Flags as for `hashgrid bench` (--seconds, --threads, --out, --json).
 */
import { benchCommand } from '../src/cli/bench.js';

process.exitCode = await benchCommand(process.argv.slice(2));
