/**
 * `hashgrid up`: a whole grid on one machine with embedded defaults.
 *
 * Starts a local nats-server with JetStream (data in the state folder;
 * random per-run credentials with per-role permissions), the node pool, demo
 * work with share validation, and one hashing node; prints where everything
 * is and a live line of hashrate until Ctrl-C.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { authorizationBlock, nodeInboxPrefix, randomPassword, redactUrl } from '../bus/auth.js';
import { connectBus } from '../bus/connect.js';
import { NatsServer } from '../bus/server.js';
import { DemoFeeder } from '../center/demo-feeder.js';
import { BACKENDS, parseBackendChoice, resolveBackend, type BackendChoice } from '../engine/index.js';
import { createRegistry, nodeMetrics, serveMetrics } from '../metrics/metrics.js';
import { NodeAgent } from '../node/agent.js';
import { NodePool } from '../node/pool.js';
import { startLocalConsortium, type LocalConsortium } from '../ppov/local.js';
import { forFlag, parseFlags, parseIntegerFlag } from './args.js';
import { defaultNodeId } from './node.js';
import { formatRate } from './output.js';

export const UP_HELP = `Usage: hashgrid up [options]

Starts a whole grid on this machine: a local nats-server with JetStream, the
node pool, demo work with share validation, and a hashing node. Ctrl-C stops
everything.

  --nats <url>           use this server instead of starting one
  --state-dir <dir>      where the embedded server keeps its data
                         (default $HASHGRID_STATE_DIR or ~/.local/state/hashgrid)
  --backend <name>       auto | ${Object.keys(BACKENDS).join(' | ')} (default auto)
  --threads <n>          hashing threads (default: one per core)
  --metrics-port <port>  Prometheus /metrics on 127.0.0.1 (default: a free port)
  --for <seconds>        stop by itself after this long (default: run until Ctrl-C)
`;

export interface LocalGridOptions {
  stateDir: string;
  /** An external server; without it an embedded one is started. */
  nats?: string;
  backend?: BackendChoice;
  threads?: number;
  metricsPort?: number;
  calibrateMs?: number;
  log?: (line: string) => void;
}

export interface LocalGrid {
  natsUrl: string;
  metricsUrl: string;
  nodeId: string;
  agent: NodeAgent;
  pool: NodePool;
  feeder: DemoFeeder;
  /** A 4-node PPoV consortium ledger (src/ppov/local.ts). */
  ledger: LocalConsortium;
  server: NatsServer | undefined;
  stop(): Promise<void>;
}

export async function startLocalGrid(options: LocalGridOptions): Promise<LocalGrid> {
  const log = options.log ?? (() => {});
  const nodeId = defaultNodeId();
  const service = { user: 'hashgrid-service', password: randomPassword() };
  const node = { user: nodeId, password: randomPassword() };
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    let server: NatsServer | undefined;
    if (!options.nats) {
      server = await NatsServer.start({
        stateDir: join(options.stateDir, 'nats'),
        authorization: authorizationBlock([
          { credential: service, role: 'service' },
          { credential: node, role: 'node', nodeId },
        ]),
        log: (line) => log(`nats: ${line}`),
      });
      cleanups.push(() => server!.stop());
    }
    const natsUrl = options.nats ?? server!.url;
    const auth = (c: { user: string; password: string }) => (server ? c : {});
    const serviceConn: NatsConnection = await connectBus({ servers: natsUrl, name: 'hashgrid-up', ...auth(service) });
    cleanups.push(() => serviceConn.drain());
    const nodeConn: NatsConnection = await connectBus({
      servers: natsUrl,
      name: `hashgrid-node-${nodeId}`,
      ...auth(node),
      ...(server ? { inboxPrefix: nodeInboxPrefix(nodeId) } : {}),
    });
    cleanups.push(() => nodeConn.drain());

    const registry = createRegistry('up');
    const metrics = nodeMetrics(registry);
    const served = await serveMetrics(registry, options.metricsPort ?? 0);
    cleanups.push(() => served.server.close());

    const pool = new NodePool(serviceConn, { onError: metrics.busErrors, onChange: (n, e) => log(`pool: ${n.nodeId} ${e}`) });
    cleanups.push(() => pool.stop());
    const feeder = await DemoFeeder.start(serviceConn, pool, { onError: metrics.busErrors, log });
    cleanups.push(() => feeder.stop());
    const agent = await NodeAgent.start({
      nc: nodeConn,
      nodeId,
      backend: resolveBackend(options.backend ?? 'auto'),
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.calibrateMs !== undefined ? { calibrateMs: options.calibrateMs } : {}),
      metrics,
      log: (line) => log(`node: ${line}`),
    });
    cleanups.push(() => agent.stop());
    const ledger = startLocalConsortium({ nc: serviceConn, stateDir: join(options.stateDir, 'ppov'), log: (line) => log(`ppov: ${line}`) });
    cleanups.push(() => ledger.stop());
    return { natsUrl, metricsUrl: served.url, nodeId, agent, pool, feeder, ledger, server, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    nats: { type: 'string' },
    'state-dir': { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'metrics-port': { type: 'string' },
    for: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(UP_HELP);
    return 0;
  }
  const backend = forFlag('--backend', () => parseBackendChoice(values.backend ?? 'auto'));
  const threads = values.threads === undefined ? undefined : parseIntegerFlag('--threads', values.threads, 1, 1024);
  const metricsPort = values['metrics-port'] === undefined ? 0 : parseIntegerFlag('--metrics-port', values['metrics-port'], 0, 65535);
  const seconds = values.for === undefined ? undefined : parseIntegerFlag('--for', values.for, 1, 10_000_000);
  const stateDir = values['state-dir'] ?? process.env.HASHGRID_STATE_DIR ?? join(homedir(), '.local', 'state', 'hashgrid');
  const out = (line: string) => process.stdout.write(`${line}\n`);

  out('starting hashgrid (calibrating the hashing node takes a second) ...');
  const grid = await startLocalGrid({
    stateDir,
    ...(values.nats ? { nats: values.nats } : {}),
    backend,
    ...(threads ? { threads } : {}),
    metricsPort,
    log: values.verbose ? (l) => process.stderr.write(`${l}\n`) : () => {},
  });
  out(`nats      ${redactUrl(grid.natsUrl)}${grid.server ? ` (embedded, JetStream data in ${grid.server.stateDir})` : ''}`);
  out(`metrics   ${grid.metricsUrl}`);
  out(`node      ${grid.nodeId}: ${grid.agent.engineBackend}, calibrated ${formatRate(grid.agent.calibratedRate)}`);
  out(`work      demo jobs, ~1 share/s per node, every share re-validated`);
  out(`ledger    PPoV chain ${grid.ledger.chainId}: ${grid.ledger.nodes.length} nodes in this process, block groups in ${grid.ledger.stateDir}`);
  out(seconds ? `running for ${seconds} s` : 'running; Ctrl-C stops everything');

  const tty = process.stdout.isTTY;
  const line = () =>
    `hashrate ${formatRate(grid.pool.totalHashrate())} | nodes ${grid.pool.nodes().filter((n) => n.alive).length} | shares ${grid.feeder.accepted} accepted, ${grid.feeder.totalRejected} rejected`;
  const ticker = setInterval(() => (tty ? process.stdout.write(`\r${line()}\u001b[K`) : out(line())), tty ? 1000 : 5000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (seconds) setTimeout(resolve, seconds * 1000).unref();
  });
  clearInterval(ticker);
  if (tty) process.stdout.write('\n');
  out(line());
  out('stopping ...');
  await grid.stop();
  out('stopped');
  return 0;
}
