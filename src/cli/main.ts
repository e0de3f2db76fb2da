/**
 * The `hashgrid` command. Usage errors exit with status 2 and one line on
 * stderr; other failures exit with status 1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isHashgridError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../engine/paths.js';
import { UsageError } from './args.js';
import { benchCommand } from './bench.js';
import { centerCommand } from './center.js';
import { gpusCommand } from './gpus.js';
import { dashboardCommand } from './dashboard.js';
import { nodeCommand } from './node.js';
import { ppovCommand } from './ppov.js';
import { scanCommand } from './scan.js';
import { schedulerCommand } from './scheduler.js';
import { upCommand } from './up.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; summary: string }> = {
  up: { run: upCommand, summary: 'start a whole grid on this machine (embedded nats-server, node pool, demo work, a node, the dashboard)' },
  node: { run: nodeCommand, summary: 'join a grid as a hashing node' },
  scheduler: { run: schedulerCommand, summary: 'divide the node pool between sub-accounts until each is up to standard' },
  dashboard: { run: dashboardCommand, summary: 'serve the live operator dashboard of a running grid' },
  center: { run: centerCommand, summary: 'run a distribution center (sub-accounts, Stratum V1, share validation)' },
  ppov: { run: ppovCommand, summary: 'PPoV consortium ledger: init a genesis, run a node, the throughput model' },
  scan: { run: scanCommand, summary: 'search a header nonce window for hashes that meet a target' },
  bench: { run: benchCommand, summary: 'measure sha256d hashrate of every path on this machine' },
  gpus: { run: gpusCommand, summary: 'list the WebGPU adapters (--gpu / HASHGRID_GPU pick one)' },
};

const HELP = `Usage: hashgrid <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

Run \`hashgrid <command> --help\` for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError('command', `expected one of ${Object.keys(COMMANDS).join(', ')}, got "${name}"`);
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`hashgrid ${command ? `${name}: ` : ''}${e.message}\n`);
      return 2;
    }
    process.stderr.write(`hashgrid ${name}: ${isHashgridError(e) ? `${e.code}: ${e.message}` : (e as Error).stack}\n`);
    return 1;
  }
}
