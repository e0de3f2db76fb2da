/**
 * `hashgrid node`: join a grid as a hashing node.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { nodeInboxPrefix, redactUrl } from '../bus/auth.js';
import { connectBus } from '../bus/connect.js';
import { readSecret } from './bus-flags.js';
import { isValidNodeId } from '../bus/subjects.js';
import { resolveBackend } from '../engine/calibrate.js';
import { closeAllGpus } from '../engine/gpu/webgpu.js';
import { BACKENDS } from '../engine/index.js';
import { backendAndGpuFlags } from './gpus.js';
import { createRegistry, nodeMetrics, serveMetrics } from '../metrics/metrics.js';
import { NodeAgent } from '../node/agent.js';
import { parseFlags, parseIntegerFlag, untilStopped, UsageError } from './args.js';
import { formatRate } from './output.js';

export const NODE_HELP = `Usage: hashgrid node --nats <url> [options]

Joins a grid: registers with the node pool, takes work, streams shares.

  --nats <url>             server URL(s), comma-separated for a cluster (required)
  --id <id>                node id: letters, digits, _ and - (default: <hostname>-<pid>)
  --user <name>            user name (default: none)
  --password-file <path>   file holding the password (or set HASHGRID_NATS_PASSWORD)
  --nkey-seed-file <path>  file holding an nkey seed, instead of user/password
  --backend <name>         auto | ${Object.keys(BACKENDS).join(' | ')} (default auto; gpu with --gpu)
  --gpu <index|name>       GPU adapter for gpu (see \`hashgrid gpus\`; default $HASHGRID_GPU, else high-performance)
  --threads <n>            worker threads (default: one per core)
  --metrics-port <port>    Prometheus /metrics on 127.0.0.1 (default: a free port; 0 = any)
`;

export const defaultNodeId = () => `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${process.pid}`;

export async function nodeCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    nats: { type: 'string' },
    id: { type: 'string' },
    user: { type: 'string' },
    'password-file': { type: 'string' },
    'nkey-seed-file': { type: 'string' },
    backend: { type: 'string' },
    gpu: { type: 'string' },
    threads: { type: 'string' },
    'metrics-port': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(NODE_HELP);
    return 0;
  }
  if (!values.nats) throw new UsageError('--nats', 'required: the NATS server URL, e.g. nats://127.0.0.1:4222');
  const nodeId = values.id ?? defaultNodeId();
  if (!isValidNodeId(nodeId)) throw new UsageError('--id', `expected letters, digits, _ and - (at most 64), got "${nodeId}"`);
  const { choice, adapter } = await backendAndGpuFlags(values.backend, values.gpu, 'auto');
  const threads = values.threads === undefined ? undefined : parseIntegerFlag('--threads', values.threads, 1, 1024);
  const metricsPort = values['metrics-port'] === undefined ? 0 : parseIntegerFlag('--metrics-port', values['metrics-port'], 0, 65535);
  const password = values['password-file'] ? readSecret('--password-file', values['password-file']) : process.env.HASHGRID_NATS_PASSWORD;
  const nkeySeed = values['nkey-seed-file'] ? readSecret('--nkey-seed-file', values['nkey-seed-file']) : undefined;

  const log = (line: string) => process.stderr.write(`[node ${nodeId}] ${line}\n`);
  const backend = await resolveBackend(choice, { log, ...(threads ? { threads } : {}) });
  const nc = await connectBus({
    servers: values.nats,
    name: `hashgrid-node-${nodeId}`,
    ...(values.user ? { user: values.user, password: password ?? '' } : {}),
    ...(nkeySeed ? { nkeySeed } : {}),
    inboxPrefix: nodeInboxPrefix(nodeId),
  });
  const registry = createRegistry('node');
  const metrics = nodeMetrics(registry);
  const served = await serveMetrics(registry, metricsPort);
  log(`connected to ${values.nats.split(',').map(redactUrl).join(', ')}; metrics at ${served.url}`);
  const agent = await NodeAgent.start({ nc, nodeId, backend, ...(threads ? { threads } : {}), ...(adapter !== undefined ? { adapter } : {}), metrics, log });
  const status = setInterval(() => log(`${agent.state} ${formatRate(agent.hashrate)}, ${agent.sharesFound} shares`), 10_000);
  await untilStopped();
  clearInterval(status);
  log('stopping');
  await agent.stop();
  await nc.drain();
  served.server.close();
  // Dawn keeps the process alive while a device exists.
  await closeAllGpus();
  return 0;
}
