/**
 * `hashgrid scheduler`: the sub-account scheduler, and `hashgrid scheduler
 * status` to see what it is doing.
 */
import { redactUrl } from '../bus/auth.js';
import { request } from '../bus/rpc.js';
import { SCHEMA_VERSION, SchedulerStatus, SchedulerStatusRequest } from '../bus/schemas.js';
import { subjects } from '../bus/subjects.js';
import { busErrorCounter, createRegistry, schedulerMetrics, serveMetrics } from '../metrics/metrics.js';
import { NodePool } from '../node/pool.js';
import { readPlanFile } from '../scheduler/plan-file.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { forFlag, parseFlags, parseIntegerFlag, untilStopped, UsageError } from './args.js';
import { BUS_FLAGS, connectFromFlags } from './bus-flags.js';
import { formatEta } from '../core/format.js';
import { formatRate } from './output.js';

export const SCHEDULER_HELP = `Usage: hashgrid scheduler --nats <url> --plan <plan.yaml|plan.json> [--mode sequential|parallel]
       hashgrid scheduler status --nats <url> [--plan-name <name>] [--json]

Divides the node pool's hashrate between sub-accounts of distribution centers
until each is up to standard (EP 4 178 150), and keeps them there.

  --nats <url>          NATS server URL(s) (required)
  --user <name>         NATS user; password from --password-file or $HASHGRID_NATS_PASSWORD
  --password-file <path>
  --plan <file>         YAML or JSON: {"name","mode":"parallel"|"sequential","maintain","standby":[node ids],"decisionMs","sliceMs",
                         "subAccounts":[ {"center","id","password","priority"}            (a hashgrid center)
                                       | {"pool":{"host","port"},"id","worker","password",
                                          "standard","windowSeconds","priority"} ]}     (any Stratum V1 pool)
  --mode <mode>         sequential (EP 4 178 150 claim 1 as written) or parallel; overrides the plan's "mode"
  --replicas <n>        replicas of the SHARES stream when the scheduler creates it (default 1; 3 on a 3-server cluster)
  --extranonce2-range <n>
                        extranonce2 values reserved per node assignment of a task with a coinbase (default 256:
                         2^40 hashes; fewer where the extranonce2 is 1 or 2 bytes)
  --plan-name <name>    (status) the plan to ask about (default "default")
  --json                (status) print the status object
`;

export async function schedulerCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'status') return statusCommand(argv.slice(1));
  const { values } = parseFlags(argv, {
    ...BUS_FLAGS,
    plan: { type: 'string' },
    mode: { type: 'string' },
    replicas: { type: 'string' },
    'extranonce2-range': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SCHEDULER_HELP);
    return 0;
  }
  if (!values.plan) throw new UsageError('--plan', 'required: a plan file (YAML or JSON)');
  // The flag overrides the file, so one plan can be checked in both modes.
  if (values.mode !== undefined && values.mode !== 'sequential' && values.mode !== 'parallel') throw new UsageError('--mode', `expected "sequential" or "parallel", got "${values.mode}"`);
  const mode = values.mode;
  // A bad plan is a usage error naming --plan, found before anything connects.
  const plan = forFlag('--plan', () => readPlanFile(values.plan!, mode ? { mode } : {}));
  const replicas = values.replicas === undefined ? 1 : parseIntegerFlag('--replicas', values.replicas, 1, 5);
  // Rule: at least one extranonce2 value per assignment, at most 2^32 (a small extranonce2 shrinks it further).
  const extranonce2Range = values['extranonce2-range'] === undefined ? undefined : parseIntegerFlag('--extranonce2-range', values['extranonce2-range'], 1, 2 ** 32);
  const nc = await connectFromFlags(values, 'hashgrid-scheduler');
  const pool = new NodePool(nc);
  const log = (line: string) => process.stderr.write(`[scheduler] ${line}\n`);
  const registry = createRegistry('scheduler');
  const served = await serveMetrics(registry, 0);
  const scheduler = await Scheduler.start({ nc, pool, plan, replicas, ...(extranonce2Range !== undefined ? { extranonce2Range } : {}), log, metrics: schedulerMetrics(registry), onError: busErrorCounter(registry) });
  log(`metrics at ${served.url}`);
  process.stdout.write(`scheduler plan ${scheduler.plan.name} (${scheduler.plan.mode}) on ${values.nats!.split(',').map(redactUrl).join(', ')}\n`);
  await untilStopped();
  await scheduler.stop();
  served.server.close();
  pool.stop();
  await nc.drain();
  return 0;
}

async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...BUS_FLAGS,
    'plan-name': { type: 'string' },
    json: { type: 'boolean' },
  });
  const nc = await connectFromFlags(values, 'hashgrid-scheduler');
  try {
    const status = await request(nc, subjects.scheduler(values['plan-name'] ?? 'default').status, SchedulerStatusRequest, { v: SCHEMA_VERSION }, SchedulerStatus, 'SchedulerStatus');
    process.stdout.write(values.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    return 0;
  } finally {
    await nc.close();
  }
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The status table an operator reads: sub-accounts, then (several centers) tiers and reservations, then nodes. */
export function formatStatus(s: SchedulerStatus): string {
  const rows = s.accounts.map((a) => [
    a.key,
    a.state,
    formatRate(a.standard),
    `${formatRate(a.delivered)} ±${(100 * a.relativeError).toFixed(0)}%`,
    `${(100 * a.progress).toFixed(0)}%`,
    a.nodes.join(',') || '-',
    formatEta(a.etaSeconds),
  ]);
  const head = ['sub-account', 'state', 'standard', 'delivered', 'progress', 'nodes', 'ETA'];
  const refused = Object.values(s.forwarded.refused ?? {}).reduce((a, b) => a + b, 0);
  const centers = Object.entries(s.reservations).map(([c, r]) => [c, r.tier, formatRate(r.demand), formatRate(r.reserved), formatRate(r.allotted), r.lent > 0 ? formatRate(r.lent) : '-']);
  return [
    `plan ${s.plan} (${s.mode}), leader ${s.leader || 'none'}${s.role === 'standby' ? ' (this answer is a standby\'s)' : ''}, capacity ${formatRate(s.capacity)}, shares forwarded ${s.forwarded.accepted} accepted / ${s.forwarded.rejected} rejected${refused > 0 ? `, ${refused} refused by the scheduler` : ''}`,
    '',
    ...table(head, rows),
    ...(centers.length > 0 ? ['', ...table(['center', 'tier', 'demand', 'reserved', 'allotted', 'lent'], centers)] : []),
    '',
    `nodes: ${s.nodes.map((n) => `${n.id} ${n.state}`).join(', ') || 'none'}`,
  ].join('\n');
}
