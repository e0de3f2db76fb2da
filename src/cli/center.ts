/**
 * `hashgrid center`: a distribution center with sub-accounts, serving
 * Stratum V1 miners on TCP and hashing nodes and schedulers over NATS.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { redactUrl } from '../bus/auth.js';
import { BuiltinChain } from '../center/chain.js';
import { DistributionCenter } from '../center/center.js';
import { loadSubAccount, type SubAccountConfig } from '../center/subaccounts.js';
import type { BusErrorSink } from '../bus/rpc.js';
import { centerMetrics, createRegistry, serveMetrics } from '../metrics/metrics.js';
import { StratumServer } from '../stratum/server.js';
import { forFlag, parseFlags, parseIntegerFlag, untilStopped, UsageError } from './args.js';
import { BUS_FLAGS, connectFromFlags } from './bus-flags.js';

export const CENTER_HELP = `Usage: hashgrid center --nats <url> [options]

Runs a distribution center: sub-accounts with hashrate standards, jobs from a
built-in chain, share validation, delivered-hashrate reports. Miners connect
over Stratum V1; schedulers and nodes over NATS. Accepted shares (several to a
JetStream message) and sub-accounts added or changed over the bus are stored
in JetStream and restored on restart, hashrate windows included.

  --nats <url>             NATS server URL(s) (required)
  --user <name>            NATS user; password from --password-file or $HASHGRID_NATS_PASSWORD
  --password-file <path>
  --center-id <id>         names the center's subjects and stream (default main)
  --accounts <file.json>   sub-accounts: [{"id","password"|"passwordHash","standard","windowSeconds"}]
  --demo                   three demo sub-accounts (alice, bob, carol) with random passwords
  --stratum-host <host>    default 127.0.0.1
  --stratum-port <port>    default 3333 (0 = a free port)
  --network-difficulty <d> the built-in chain's difficulty (default 0.05)
  --initial-difficulty <d> share difficulty of a new connection before vardiff (default 2^-12)
  --metrics-port <port>    Prometheus /metrics on 127.0.0.1 (default: a free port; 0 = any)
  --max-connections <n>    Stratum connections at once; more are refused with a message (default 10000)
  --replicas <n>           replicas of the center's share stream and KV bucket when it creates them (default 1)
`;

/** Three demo sub-accounts with fresh passwords and standards a laptop can meet. */
export function demoSubAccounts(): (SubAccountConfig & { password: string })[] {
  return [
    { id: 'alice', standard: 1e6, windowSeconds: 60 },
    { id: 'bob', standard: 5e5, windowSeconds: 60 },
    { id: 'carol', standard: 2e5, windowSeconds: 60 },
  ].map((a) => ({ ...a, password: randomBytes(9).toString('base64url') }));
}

export interface CenterStack {
  center: DistributionCenter;
  stratum: StratumServer;
  stratumUrl: string;
  chain: BuiltinChain;
  stop(): Promise<void>;
}

export async function startCenter(options: {
  nc: NatsConnection;
  subAccounts: SubAccountConfig[];
  centerId?: string;
  stratumHost?: string;
  stratumPort?: number;
  networkDifficulty?: number;
  initialDifficulty?: number;
  /** Stratum connections at once (default 10,000). */
  maxConnections?: number;
  /** Replicas of the center's stream and KV bucket when it creates them (default 1). */
  replicas?: number;
  /** Counts bad bus messages (a Prometheus counter). */
  onError?: BusErrorSink;
  log?: (line: string) => void;
}): Promise<CenterStack> {
  const chain = new BuiltinChain({ difficulty: options.networkDifficulty ?? 0.05 });
  const center = await DistributionCenter.start({
    source: chain,
    subAccounts: options.subAccounts,
    nc: options.nc,
    ...(options.centerId ? { centerId: options.centerId } : {}),
    ...(options.replicas ? { replicas: options.replicas } : {}),
    ...(options.initialDifficulty ? { initialDifficulty: options.initialDifficulty } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const stratum = new StratumServer(center, {
    host: options.stratumHost ?? '127.0.0.1',
    port: options.stratumPort ?? 3333,
    allocateExtranonce1: center.allocateExtranonce1,
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
  });
  const { host, port } = await stratum.listen();
  return {
    center,
    stratum,
    chain,
    stratumUrl: `stratum+tcp://${host}:${port}`,
    stop: async () => {
      await stratum.close();
      await center.close();
      chain.close();
    },
  };
}

export async function centerCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...BUS_FLAGS,
    'center-id': { type: 'string' },
    accounts: { type: 'string' },
    demo: { type: 'boolean' },
    'stratum-host': { type: 'string' },
    'stratum-port': { type: 'string' },
    'network-difficulty': { type: 'string' },
    'initial-difficulty': { type: 'string' },
    'metrics-port': { type: 'string' },
    replicas: { type: 'string' },
    'max-connections': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(CENTER_HELP);
    return 0;
  }
  if (!values.nats) throw new UsageError('--nats', 'required: the NATS server URL, e.g. nats://127.0.0.1:4222');
  if (!values.accounts && !values.demo) throw new UsageError('--accounts', 'required: a sub-accounts JSON file (or --demo)');
  const configured: SubAccountConfig[] = values.accounts ? readAccounts(values.accounts) : demoSubAccounts();
  // Validate (and hash) every sub-account before anything starts.
  const subAccounts = configured.map((a) => {
    const s = forFlag('--accounts', () => loadSubAccount(a));
    return { id: s.id, passwordHash: s.passwordHash, standard: s.standard, windowSeconds: s.windowSeconds };
  });
  const port = values['stratum-port'] === undefined ? 3333 : parseIntegerFlag('--stratum-port', values['stratum-port'], 0, 65535);
  const difficulty = values['network-difficulty'] === undefined ? 0.05 : Number(values['network-difficulty']);
  if (!(difficulty > 0)) throw new UsageError('--network-difficulty', `expected a number > 0, got "${values['network-difficulty']}"`);
  const initialDifficulty = values['initial-difficulty'] === undefined ? undefined : Number(values['initial-difficulty']);
  if (initialDifficulty !== undefined && !(initialDifficulty > 0)) {
    throw new UsageError('--initial-difficulty', `expected a number > 0, got "${values['initial-difficulty']}"`);
  }
  const metricsPort = values['metrics-port'] === undefined ? 0 : parseIntegerFlag('--metrics-port', values['metrics-port'], 0, 65535);
  const maxConnections = values['max-connections'] === undefined ? undefined : parseIntegerFlag('--max-connections', values['max-connections'], 1, 1_000_000);
  const replicas = values.replicas === undefined ? undefined : parseIntegerFlag('--replicas', values.replicas, 1, 5);
  const nc = await connectFromFlags(values, 'hashgrid-center');
  const log = (line: string) => process.stderr.write(`[center] ${line}\n`);
  const registry = createRegistry('center');
  let stack: CenterStack | undefined;
  const metrics = centerMetrics(registry, () => ({
    accepted: stack?.center.stats.accepted ?? 0,
    rejected: stack?.center.stats.rejected ?? {},
    blocks: stack?.center.stats.blocks ?? 0,
    stratumConnections: stack?.stratum.sessions().length ?? 0,
  }));
  const served = await serveMetrics(registry, metricsPort);
  stack = await startCenter({
    nc,
    subAccounts,
    onError: metrics.busErrors,
    ...(maxConnections ? { maxConnections } : {}),
    ...(replicas ? { replicas } : {}),
    ...(values['center-id'] ? { centerId: values['center-id'] } : {}),
    ...(values['stratum-host'] ? { stratumHost: values['stratum-host'] } : {}),
    stratumPort: port,
    networkDifficulty: difficulty,
    ...(initialDifficulty ? { initialDifficulty } : {}),
    log,
  });
  process.stdout.write(`center    ${stack.center.centerId} on ${values.nats.split(',').map(redactUrl).join(', ')}\n`);
  process.stdout.write(`stratum   ${stack.stratumUrl}\n`);
  process.stdout.write(`metrics   ${served.url}\n`);
  for (const a of configured) {
    process.stdout.write(`account   ${a.id}: standard ${a.standard} H/s over ${a.windowSeconds ?? 600} s${values.demo ? `, password ${a.password}` : ''}\n`);
  }
  await untilStopped();
  await stack.stop();
  served.server.close();
  await nc.drain();
  return 0;
}

function readAccounts(path: string): SubAccountConfig[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError('--accounts', `cannot read ${path} as JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new UsageError('--accounts', `expected a JSON array of sub-accounts in ${path}`);
  return data as SubAccountConfig[];
}
