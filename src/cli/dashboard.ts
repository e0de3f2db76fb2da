/**
 * `hashgrid dashboard`: the operator dashboard for a running grid. It reads
 * the grid from the bus only (nodes, centers, schedulers) and serves a page
 * that updates itself; operator actions need the operator token.
 */
import { dashboardInboxPrefix, redactUrl } from '../bus/auth.js';
import { startDashboard } from '../dashboard/server.js';
import { parseFlags, parseIntegerFlag, untilStopped, UsageError } from './args.js';
import { BUS_FLAGS, connectFromFlags, readSecret } from './bus-flags.js';

export const DASHBOARD_HELP = `Usage: hashgrid dashboard --nats <url> [options]

Serves a live page of the grid: nodes (backend, hardware, hashrate), every
sub-account (standard, delivered hashrate ± error, progress, nodes, ETA),
scheduler decisions, rejected shares by reason. Read-only for everyone;
pausing nodes and changing or adding sub-accounts need the operator token.

  --nats <url>            NATS server URL(s) (required)
  --user <name>           NATS user; password from --password-file or $HASHGRID_NATS_PASSWORD
  --password-file <path>
  --host <addr>           listen address (default 127.0.0.1)
  --port <port>           listen port (default 8080; 0 = a free port)
  --token-file <path>     the operator token (default: $HASHGRID_DASHBOARD_TOKEN, else a random
                          one, printed at start)
  --center <id>           a distribution center to show (repeatable; default main)
  --plan <name>           a scheduler plan to show (repeatable; default default)
  --ledger <chain>:<ids>  a PPoV chain to show, and the ledger nodes to ask, e.g. local:n1,n2
`;

export async function dashboardCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...BUS_FLAGS,
    host: { type: 'string' },
    port: { type: 'string' },
    'token-file': { type: 'string' },
    center: { type: 'string', multiple: true },
    plan: { type: 'string', multiple: true },
    ledger: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(DASHBOARD_HELP);
    return 0;
  }
  const port = values.port === undefined ? 8080 : parseIntegerFlag('--port', values.port, 0, 65535);
  const token = values['token-file'] ? readSecret('--token-file', values['token-file']) : process.env.HASHGRID_DASHBOARD_TOKEN;
  if (token !== undefined && token.length < 8) throw new UsageError(values['token-file'] ? '--token-file' : 'HASHGRID_DASHBOARD_TOKEN', 'expected a token of at least 8 characters');
  for (const id of [...(values.center ?? []), ...(values.plan ?? [])]) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UsageError(values.center?.includes(id) ? '--center' : '--plan', `expected letters, digits, _ and - (at most 64), got "${id}"`);
  }
  let ledger: { chain: string; nodes: string[] } | undefined;
  if (values.ledger !== undefined) {
    const m = /^([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64})*)$/.exec(values.ledger);
    if (!m) throw new UsageError('--ledger', `expected <chain>:<node>[,<node>...], got "${values.ledger}"`);
    ledger = { chain: m[1]!, nodes: m[2]!.split(',') };
  }
  // A dashboard user may subscribe only to its own inbox (auth.dashboardInboxPrefix).
  const nc = await connectFromFlags(values, 'hashgrid-dashboard', dashboardInboxPrefix);
  const dashboard = await startDashboard({
    nc,
    host: values.host ?? '127.0.0.1',
    port,
    ...(token ? { token } : {}),
    ...(values.center ? { centers: values.center } : {}),
    ...(values.plan ? { plans: values.plan } : {}),
    ...(ledger ? { ledger } : {}),
  });
  process.stdout.write(`bus       ${values.nats!.split(',').map(redactUrl).join(', ')}\n`);
  if (!token) process.stdout.write(`token     ${dashboard.token} (operator actions: unlock them on the page with it)\n`);
  process.stdout.write(`dashboard ${dashboard.url}\n`);
  await untilStopped();
  await dashboard.stop();
  await nc.drain();
  return 0;
}
