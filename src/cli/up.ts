/**
 * `hashgrid up`: a whole grid on one machine with embedded defaults.
 *
 * Starts a local nats-server with JetStream (data in the state folder;
 * random per-run credentials with per-role permissions), the node pool, a
 * distribution center with three demo sub-accounts (also open to Stratum V1
 * miners), the scheduler dividing the pool between them, one hashing node,
 * and the operator dashboard; prints where everything is, ending with the
 * dashboard's URL, then a live line until Ctrl-C.
 */
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { authorizationBlock, nodeInboxPrefix, randomPassword, redactUrl } from '../bus/auth.js';
import { connectBus } from '../bus/connect.js';
import { NatsServer } from '../bus/server.js';
import { startDashboard, type Dashboard } from '../dashboard/server.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { demoSubAccounts, startCenter, type CenterStack } from './center.js';
import { resolveBackend } from '../engine/calibrate.js';
import { closeAllGpus } from '../engine/gpu/webgpu.js';
import { BACKENDS, type BackendChoice } from '../engine/index.js';
import { backendAndGpuFlags } from './gpus.js';
import { createRegistry, nodeMetrics, schedulerMetrics, serveMetrics } from '../metrics/metrics.js';
import { NodeAgent } from '../node/agent.js';
import { NodePool } from '../node/pool.js';
import { LedgerRecorder } from '../ppov/accounting.js';
import { startLocalConsortium, type LocalConsortium } from '../ppov/local.js';
import { forFlag, parseFlags, parseIntegerFlag, untilStopped, UsageError } from './args.js';
import { BUS_FLAGS, readSecret } from './bus-flags.js';
import { defaultNodeId } from './node.js';
import { formatRate } from './output.js';

export const UP_HELP = `Usage: hashgrid up [options]

Starts a whole grid on this machine: a local nats-server with JetStream, the
node pool, a distribution center with three demo sub-accounts (open to Stratum
V1 miners too), the scheduler, and a hashing node. Ctrl-C stops everything.

  --nats <url>           use this server instead of starting one
  --user <name>          with --nats: the user to connect as (it needs the service role)
  --password-file <path> with --nats: file holding its password (or set HASHGRID_NATS_PASSWORD)
  --state-dir <dir>      where the embedded server keeps its data
                         (default $HASHGRID_STATE_DIR or ~/.local/state/hashgrid)
  --backend <name>       auto | ${Object.keys(BACKENDS).join(' | ')} (default auto; gpu with --gpu)
  --gpu <index|name>     GPU adapter for gpu (see \`hashgrid gpus\`; default $HASHGRID_GPU, else high-performance)
  --threads <n>          hashing threads (default: one per core)
  --metrics-port <port>  Prometheus /metrics on 127.0.0.1 (default: a free port)
  --dashboard-port <port> the dashboard on 127.0.0.1 (default: a free port)
  --for <seconds>        stop by itself after this long (default: run until Ctrl-C)
`;

export interface LocalGridOptions {
  stateDir: string;
  /** An external server; without it an embedded one is started. */
  nats?: string;
  /** Credentials for the external server (every part of the grid connects with them), and the file the password came from. */
  natsAuth?: { user: string; password: string; passwordFile?: string };
  backend?: BackendChoice;
  /** GPU adapter for the gpu backend (see AdapterSelector). */
  adapter?: string;
  threads?: number;
  metricsPort?: number;
  /** The dashboard's port on 127.0.0.1 (default 0: a free port). */
  dashboardPort?: number;
  /** The dashboard's operator token (default random). */
  dashboardToken?: string;
  calibrateMs?: number;
  log?: (line: string) => void;
}

export interface LocalGrid {
  natsUrl: string;
  metricsUrl: string;
  nodeId: string;
  agent: NodeAgent;
  pool: NodePool;
  center: CenterStack;
  scheduler: Scheduler;
  dashboard: Dashboard;
  /** The demo sub-accounts with their passwords, for Stratum miners. */
  subAccounts: { id: string; password: string; standard: number }[];
  /** A 4-node PPoV consortium ledger (src/ppov/local.ts). */
  ledger: LocalConsortium;
  server: NatsServer | undefined;
  /** The embedded server's service user and where its password is (0600). */
  serviceUser: string;
  servicePasswordFile: string | undefined;
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
    // Operators' tools (scheduler status, a second node) read the service password from here.
    const servicePasswordFile = server ? join(options.stateDir, 'service.password') : options.natsAuth?.passwordFile;
    if (server) writeFileSync(servicePasswordFile!, `${service.password}\n`, { mode: 0o600 });
    // The embedded server has a user per role; an external one gets the operator's credentials (if any) everywhere.
    const external = options.natsAuth ? { user: options.natsAuth.user, password: options.natsAuth.password } : {};
    const auth = (c: { user: string; password: string }) => (server ? c : external);
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
    const subAccounts = demoSubAccounts();
    const center = await startCenter({ nc: serviceConn, subAccounts, stratumPort: 0, initialDifficulty: 2 ** -16, onError: metrics.busErrors, log: (l) => log(`center: ${l}`) });
    cleanups.push(() => center.stop());
    const scheduler = await Scheduler.start({
      nc: serviceConn,
      pool,
      plan: { name: 'default', subAccounts: subAccounts.map((a) => ({ center: 'main', id: a.id, password: a.password })), sliceMs: 6000 },
      onError: metrics.busErrors,
      metrics: schedulerMetrics(registry),
      log: (l) => log(`scheduler: ${l}`),
    });
    cleanups.push(() => scheduler.stop());
    const ledger = startLocalConsortium({ nc: serviceConn, stateDir: join(options.stateDir, 'ppov'), log: (line) => log(`ppov: ${line}`) });
    cleanups.push(() => ledger.stop());
    // The center's accepted work and decisions, and the scheduler's, go on the ledger.
    const recorder = await LedgerRecorder.start({ nc: serviceConn, chain: ledger.chainId, nodes: ledger.nodes.map((n) => n.id), centerId: 'main', plan: 'default', log: (line) => log(`accounting: ${line}`) });
    cleanups.push(() => recorder.stop());
    const dashboard = await startDashboard({
      nc: serviceConn,
      ledger: { chain: ledger.chainId, nodes: ledger.nodes.map((n) => n.id) },
      port: options.dashboardPort ?? 0,
      ...(options.dashboardToken ? { token: options.dashboardToken } : {}),
      onError: metrics.busErrors,
    });
    cleanups.push(() => dashboard.stop());
    const agent = await NodeAgent.start({
      nc: nodeConn,
      nodeId,
      backend: await resolveBackend(options.backend ?? 'auto', {
        log,
        cacheFile: join(options.stateDir, 'calibration.json'),
        ...(options.threads ? { threads: options.threads } : {}),
      }),
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.adapter !== undefined ? { adapter: options.adapter } : {}),
      ...(options.calibrateMs !== undefined ? { calibrateMs: options.calibrateMs } : {}),
      metrics,
      log: (line) => log(`node: ${line}`),
    });
    cleanups.push(() => agent.stop());
    return { natsUrl, metricsUrl: served.url, nodeId, agent, pool, center, scheduler, subAccounts, ledger, dashboard, server, serviceUser: server ? service.user : (options.natsAuth?.user ?? service.user), servicePasswordFile, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...BUS_FLAGS,
    'state-dir': { type: 'string' },
    backend: { type: 'string' },
    gpu: { type: 'string' },
    threads: { type: 'string' },
    'metrics-port': { type: 'string' },
    'dashboard-port': { type: 'string' },
    for: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(UP_HELP);
    return 0;
  }
  // The embedded server makes its own users: credentials are for a server given with --nats.
  if (!values.nats && (values.user || values['password-file'])) throw new UsageError(values.user ? '--user' : '--password-file', 'only with --nats');
  const { choice: backend, adapter } = await backendAndGpuFlags(values.backend, values.gpu, 'auto');
  const threads = values.threads === undefined ? undefined : parseIntegerFlag('--threads', values.threads, 1, 1024);
  const metricsPort = values['metrics-port'] === undefined ? 0 : parseIntegerFlag('--metrics-port', values['metrics-port'], 0, 65535);
  const dashboardPort = values['dashboard-port'] === undefined ? 0 : parseIntegerFlag('--dashboard-port', values['dashboard-port'], 0, 65535);
  const seconds = values.for === undefined ? undefined : parseIntegerFlag('--for', values.for, 1, 10_000_000);
  const stateDir = values['state-dir'] ?? process.env.HASHGRID_STATE_DIR ?? join(homedir(), '.local', 'state', 'hashgrid');
  const out = (line: string) => process.stdout.write(`${line}\n`);

  out('starting hashgrid (calibrating the hashing node takes a second) ...');
  const grid = await startLocalGrid({
    stateDir,
    ...(values.nats ? { nats: values.nats } : {}),
    ...(values.user ? { natsAuth: natsAuthFromFlags(values.user, values['password-file']) } : {}),
    backend,
    ...(adapter !== undefined ? { adapter } : {}),
    ...(threads ? { threads } : {}),
    metricsPort,
    dashboardPort,
    log: values.verbose ? (l) => process.stderr.write(`${l}\n`) : () => {},
  });
  out(`nats      ${redactUrl(grid.natsUrl)}${grid.server ? ` (embedded, JetStream data in ${grid.server.stateDir})` : ''}`);
  out(`metrics   ${grid.metricsUrl}`);
  out(`node      ${grid.nodeId}: ${grid.agent.engineBackend}, calibrated ${formatRate(grid.agent.calibratedRate)}`);
  out(`stratum   ${grid.center.stratumUrl} (miners: worker <sub-account>.<rig>, the password below)`);
  for (const a of grid.subAccounts) out(`account   ${a.id}: standard ${formatRate(a.standard)} over 60 s, password ${a.password}`);
  const creds = grid.servicePasswordFile ? ` --user ${grid.serviceUser} --password-file ${grid.servicePasswordFile}` : '';
  out(`scheduler plan default (parallel); see it with: node bin/hashgrid.js scheduler status --nats ${redactUrl(grid.natsUrl)}${creds}`);
  out(`ledger    PPoV chain ${grid.ledger.chainId}: ${grid.ledger.nodes.length} nodes in this process, block groups in ${grid.ledger.stateDir}`);
  out(`accounts  center main and plan default recorded on the ledger; see them with: node bin/hashgrid.js ppov accounts --nats ${redactUrl(grid.natsUrl)}${creds} --chain ${grid.ledger.chainId} --nodes ${grid.ledger.nodes.map((n) => n.id).join(',')}`);
  out(`operator  token ${grid.dashboard.token} (unlocks the dashboard's actions)`);
  out(seconds ? `running for ${seconds} s` : 'running; Ctrl-C stops everything');
  out(`dashboard ${grid.dashboard.url}`);

  const tty = process.stdout.isTTY;
  const line = () => {
    const st = grid.center.center.stats;
    const up = grid.subAccounts.filter((a) => grid.center.center.info(a.id).upToStandard).length;
    const rejected = Object.values(st.rejected).reduce((x, y) => x + y, 0);
    // Shares found on a job that a new block replaced are rejected as stale, as a pool does; any other rejection is a fault.
    const stale = st.rejected['stale-or-unknown-job'] ?? 0;
    return `hashrate ${formatRate(grid.pool.totalHashrate())} | nodes ${grid.pool.nodes().filter((n) => n.alive).length} | up to standard ${up}/${grid.subAccounts.length} | shares ${st.accepted} accepted, ${rejected} rejected${rejected > 0 ? ` (${stale} stale, ${st.blocks} blocks)` : ''}`;
  };
  const ticker = setInterval(() => (tty ? process.stdout.write(`\r${line()}\u001b[K`) : out(line())), tty ? 1000 : 5000);

  await untilStopped(seconds);
  clearInterval(ticker);
  if (tty) process.stdout.write('\n');
  out(line());
  out('stopping ...');
  await grid.stop();
  // Dawn keeps the process alive while a device exists.
  await closeAllGpus();
  out('stopped');
  return 0;
}

/** --user with --password-file (or $HASHGRID_NATS_PASSWORD), as `hashgrid node` takes them. */
function natsAuthFromFlags(user: string, passwordFile: string | undefined): NonNullable<LocalGridOptions['natsAuth']> {
  const password = passwordFile ? readSecret('--password-file', passwordFile) : (process.env.HASHGRID_NATS_PASSWORD ?? '');
  return { user, password, ...(passwordFile ? { passwordFile } : {}) };
}
