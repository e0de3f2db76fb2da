/**
 * `hashgrid ppov`: the PPoV consortium ledger (docs/ppov.md).
 *
 *   hashgrid ppov init   write a genesis and one key file per member
 *   hashgrid ppov node   run a ledger node (also: `hashgrid ppov --nats ...`)
 *   hashgrid ppov model  the throughput model, equations (1)–(12), and Figures 7A–7F as SVG
 *   hashgrid ppov record    write a center's accepted work and decisions into the ledger
 *   hashgrid ppov accounts  the accounts as the ledger holds them
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { redactUrl } from '../bus/auth.js';
import { connectBus } from '../bus/connect.js';
import { isValidNodeId } from '../bus/subjects.js';
import { LedgerRecorder, readAccounts, type LedgerAccounts } from '../ppov/accounting.js';
import { DEFAULT_TIMING, makeConsortium, readGenesis, readIdentity, writeGenesis, writeIdentity } from '../ppov/genesis.js';
import { wasmTxHasher } from '../ppov/hasher.js';
import { GBPS, predict, PROTOTYPE_K, PROTOTYPE_SIZES, type MessageSizes } from '../ppov/model.js';
import { figure7Svg } from '../ppov/plot.js';
import { PpovNode, PpovTransport } from '../ppov/runtime.js';
import { PpovStore } from '../ppov/store.js';
import { forFlag, parseFlags, parseIntegerFlag, untilStopped, UsageError } from './args.js';
import { BUS_FLAGS, connectFromFlags } from './bus-flags.js';
import { formatCount, formatRate } from './output.js';

export const PPOV_HELP = `Usage: hashgrid ppov <init|node|model|record|accounts> [options]

  hashgrid ppov init --dir <dir> --ids a,b,c,d [--chain-id <id>] [--k <K>] [--quorum majority|bft]
                     [--reveals <heights>] [--min-round-ms <ms>] [--block-deadline-ms <ms>] [--view-timeout-ms <ms>]
      writes <dir>/genesis.json and <dir>/<id>.key (0600) for each member; every member is
      both bookkeeper and consortium node ([0168]).

  hashgrid ppov node --nats <url> --genesis <file> --key <file> --state-dir <dir> [-v]
      runs a ledger node (\`hashgrid ppov --nats ...\` does the same): block groups in LMDB
      under --state-dir; catches up from peers after a restart. Ctrl-C/SIGTERM stops it.

  hashgrid ppov model [--n 3-8|3,5,8] [--band <Gbps>] [--a <power>|--a-per-node <factor>] [--k <K>]
                      [--sizes M=266,H=692,T=40,Hv=400,Vb=100,Hr=170,Rb=400] [--svg <file>] [--json]
      prints the predicted round time and throughput (equations (1)–(12)) and writes an SVG of
      throughput against n and band like Figures 7A–7F (default ppov-model.svg; --svg '' skips it).

  hashgrid ppov record --nats <url> --chain <id> --nodes a,b,c [--center <cid>] [--plan <name>]
                       [--user <name> --password-file <path>] [--for <s>]
      writes center <cid>'s accepted shares (from its JetStream stream) and up-to-standard
      decisions, and scheduler <plan>'s decisions, into the ledger as transactions, submitted to
      the first answering node of --nodes. Resumes where the chain ends after a restart.

  hashgrid ppov accounts --nats <url> --chain <id> --nodes a,b,c [--json]
      reads the chain from the first answering node and prints each center's sub-accounts:
      shares and the work they prove (Σ difficulty × 2^32 hashes), with decisions and duplicates.
`;

export async function ppovCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'init') return initCommand(rest);
  if (sub === 'model') return modelCommand(rest);
  if (sub === 'node') return nodeRun(rest);
  if (sub === 'record') return recordCommand(rest);
  if (sub === 'accounts') return accountsCommand(rest);
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(PPOV_HELP);
    return 0;
  }
  if (sub.startsWith('-')) return nodeRun(argv);
  throw new UsageError('subcommand', `expected init, node, model, record or accounts, got "${sub}"`);
}

function csvIds(flag: string, value: string): string[] {
  const ids = value.split(',').map((s) => s.trim());
  for (const id of ids) if (!isValidNodeId(id)) throw new UsageError(flag, `expected node ids (letters, digits, _ and -), got "${id}"`);
  if (new Set(ids).size !== ids.length) throw new UsageError(flag, 'ids must be distinct');
  return ids;
}

async function initCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    dir: { type: 'string' },
    ids: { type: 'string' },
    'chain-id': { type: 'string' },
    k: { type: 'string' },
    quorum: { type: 'string' },
    reveals: { type: 'string' },
    'min-round-ms': { type: 'string' },
    'block-deadline-ms': { type: 'string' },
    'view-timeout-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help();
  if (!values.dir) throw new UsageError('--dir', 'required: where to write genesis.json and the key files');
  if (!values.ids) throw new UsageError('--ids', 'required: the members, e.g. a,b,c,d');
  const ids = csvIds('--ids', values.ids);
  const chainId = values['chain-id'] ?? 'main';
  if (!isValidNodeId(chainId)) throw new UsageError('--chain-id', `expected letters, digits, _ and -, got "${chainId}"`);
  const quorum = values.quorum ?? 'majority';
  if (quorum !== 'majority' && quorum !== 'bft') throw new UsageError('--quorum', `expected majority or bft, got "${quorum}"`);
  const ms = (flag: string, v: string | undefined, d: number) => (v === undefined ? d : parseIntegerFlag(flag, v, 0, 3_600_000));
  const c = makeConsortium({
    chainId,
    ids,
    quorum,
    maxTxPerBlock: values.k === undefined ? PROTOTYPE_K : parseIntegerFlag('--k', values.k, 1, 1_000_000),
    revealChainLength: values.reveals === undefined ? 100_000 : parseIntegerFlag('--reveals', values.reveals, 2, 1_000_000),
    timing: {
      blockDeadlineMs: ms('--block-deadline-ms', values['block-deadline-ms'], DEFAULT_TIMING.blockDeadlineMs),
      viewTimeoutMs: ms('--view-timeout-ms', values['view-timeout-ms'], DEFAULT_TIMING.viewTimeoutMs),
      rebroadcastMs: DEFAULT_TIMING.rebroadcastMs,
      minRoundMs: ms('--min-round-ms', values['min-round-ms'], DEFAULT_TIMING.minRoundMs ?? 0),
    },
  });
  mkdirSync(values.dir, { recursive: true });
  writeGenesis(join(values.dir, 'genesis.json'), c.genesis);
  for (const id of ids) writeIdentity(join(values.dir, `${id}.key`), id, c.seeds[id]!);
  process.stdout.write(`genesis   ${join(values.dir, 'genesis.json')} (chain ${chainId}, ${ids.length} members, quorum ${quorum}, K ${c.genesis.maxTxPerBlock})\n`);
  process.stdout.write(`keys      ${ids.map((id) => join(values.dir!, `${id}.key`)).join(' ')}\n`);
  return 0;
}

function help(): number {
  process.stdout.write(PPOV_HELP);
  return 0;
}

async function nodeRun(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    nats: { type: 'string' },
    genesis: { type: 'string' },
    key: { type: 'string' },
    'state-dir': { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help();
  if (!values.nats) throw new UsageError('--nats', 'required: the NATS server URL, e.g. nats://127.0.0.1:4222');
  if (!values.genesis) throw new UsageError('--genesis', 'required: the chain\'s genesis.json (hashgrid ppov init writes one)');
  if (!values.key) throw new UsageError('--key', 'required: this member\'s key file');
  if (!values['state-dir']) throw new UsageError('--state-dir', 'required: where the node keeps its block groups');
  const genesis = forFlag('--genesis', () => readGenesis(values.genesis!));
  const identity = forFlag('--key', () => readIdentity(values.key!, genesis));
  const log = (line: string) => process.stderr.write(`[ppov ${identity.id}] ${line}\n`);
  const nc = await connectBus({ servers: values.nats, name: `hashgrid-ppov-${identity.id}` });
  const transport = new PpovTransport(nc, genesis.chainId, { onError: (subject, code) => values.verbose && log(`rejected on ${subject}: ${code}`) });
  const node = PpovNode.start({
    transport,
    genesis,
    identity,
    hasher: wasmTxHasher(),
    store: PpovStore.open(values['state-dir']),
    log,
    onStored: (g) => values.verbose && log(`stored ${g.header.height} ${g.header.groupId.slice(0, 16)} view ${g.header.view}, ${g.blocks.reduce((s, b) => s + b.txCount, 0)} txs`),
  });
  process.stdout.write(`ppov      ${identity.id} on chain ${genesis.chainId} at height ${node.height}, ${values.nats.split(',').map(redactUrl).join(', ')}, state in ${values['state-dir']}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log(`stopping at height ${node.height}`);
  await node.stop();
  await transport.close();
  await nc.drain();
  return 0;
}

const LEDGER_FLAGS = { ...BUS_FLAGS, chain: { type: 'string' }, nodes: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

/** --chain and --nodes, checked before connecting. */
function ledgerFlags(values: { chain?: string; nodes?: string }): { chain: string; nodes: string[] } {
  if (!values.chain) throw new UsageError('--chain', 'required: the PPoV chain id (hashgrid up runs chain "local")');
  if (!isValidNodeId(values.chain)) throw new UsageError('--chain', `expected letters, digits, _ and -, got "${values.chain}"`);
  if (!values.nodes) throw new UsageError('--nodes', 'required: ledger node ids to submit to and read from, e.g. ledger-a,ledger-b');
  return { chain: values.chain, nodes: csvIds('--nodes', values.nodes) };
}

async function recordCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...LEDGER_FLAGS, center: { type: 'string' }, plan: { type: 'string' }, for: { type: 'string' } });
  if (values.help) return help();
  const { chain, nodes } = ledgerFlags(values);
  for (const [flag, id] of [['--center', values.center], ['--plan', values.plan]] as const) {
    if (id !== undefined && !isValidNodeId(id)) throw new UsageError(flag, `expected letters, digits, _ and -, got "${id}"`);
  }
  if (!values.center && !values.plan) throw new UsageError('--center', 'give --center, --plan or both: what to record');
  const seconds = values.for === undefined ? undefined : parseIntegerFlag('--for', values.for, 1, 10 ** 9);
  const nc = await connectFromFlags(values, 'hashgrid-ppov-record');
  try {
    const log = (line: string) => process.stderr.write(`[ppov record] ${line}\n`);
    const recorder = await LedgerRecorder.start({ nc, chain, nodes, ...(values.center ? { centerId: values.center } : {}), ...(values.plan ? { plan: values.plan } : {}), log });
    process.stdout.write(`record    chain ${chain} at height ${recorder.accounts.height}${values.center ? `, center ${values.center}` : ''}${values.plan ? `, plan ${values.plan}` : ''}\n`);
    await untilStopped(seconds);
    await recorder.stop();
  } finally {
    // Also when no ledger node answered: an open connection would keep the process alive after the error.
    await nc.drain();
  }
  return 0;
}

async function accountsCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...LEDGER_FLAGS, json: { type: 'boolean' } });
  if (values.help) return help();
  const { chain, nodes } = ledgerFlags(values);
  const nc: NatsConnection = await connectFromFlags(values, 'hashgrid-ppov-accounts');
  try {
    const acc = await readAccounts(nc, chain, nodes);
    process.stdout.write(values.json ? `${JSON.stringify(accountsJson(acc))}\n` : accountsTable(chain, acc));
  } finally {
    await nc.close();
  }
  return 0;
}

const accountsJson = (acc: LedgerAccounts) => ({
  height: acc.height,
  centers: acc.centers,
  standards: acc.standards,
  decisions: acc.decisions.length,
  duplicates: acc.duplicates,
  invalid: acc.invalid,
});

function accountsTable(chain: string, acc: LedgerAccounts): string {
  const lines = [`ledger    chain ${chain} at height ${acc.height}: ${acc.decisions.length} scheduler decisions, ${acc.duplicates} duplicates, ${acc.invalid} malformed`];
  lines.push(`${'center'.padEnd(12)} ${'sub-account'.padEnd(16)} ${'shares'.padStart(10)} ${'work (hashes)'.padStart(16)}  up to standard`);
  for (const [cid, c] of Object.entries(acc.centers)) {
    for (const [id, t] of Object.entries(c.accounts)) {
      const last = acc.standards.filter((e) => e.centerId === cid && e.subAccount === id).at(-1);
      const work = t.difficulty * 2 ** 32;
      lines.push(`${cid.padEnd(12)} ${id.padEnd(16)} ${formatCount(t.shares).padStart(10)} ${work.toExponential(3).padStart(16)}  ${last ? `${last.upToStandard ? 'yes' : 'no'} (${formatRate(last.hashrate)})` : '-'}`);
    }
    if (c.gaps > 0) lines.push(`${cid.padEnd(12)} ${c.gaps} stream sequences missing from the ledger`);
  }
  return `${lines.join('\n')}\n`;
}

function parseNodes(value: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(value);
  const list = range ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i) : value.split(',').map(Number);
  if (list.length === 0 || list.length > 10_000 || list.some((n) => !Number.isInteger(n) || n < 2 || n > 100_000)) {
    throw new UsageError('--n', `expected node counts ≥ 2 as a range (3-8) or a list (3,5,8), got "${value}"`);
  }
  return list;
}

function positive(flag: string, value: string): number {
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x)) throw new UsageError(flag, `expected a number > 0, got "${value}"`);
  return x;
}

function parseSizes(value: string): MessageSizes {
  const sizes = { ...PROTOTYPE_SIZES };
  for (const part of value.split(',')) {
    const [k, v] = part.split('=');
    if (!k || !(k in sizes) || v === undefined) throw new UsageError('--sizes', `expected name=bytes with names ${Object.keys(sizes).join(', ')}, got "${part}"`);
    sizes[k as keyof MessageSizes] = parseIntegerFlag('--sizes', v, 0, 1e9);
  }
  return sizes;
}

async function modelCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    n: { type: 'string' },
    band: { type: 'string' },
    a: { type: 'string' },
    'a-per-node': { type: 'string' },
    k: { type: 'string' },
    sizes: { type: 'string' },
    svg: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help();
  if (values.a !== undefined && values['a-per-node'] !== undefined) throw new UsageError('--a', 'give --a or --a-per-node, not both');
  const nodes = parseNodes(values.n ?? '3-8');
  const bandGbps = values.band === undefined ? 1 : positive('--band', values.band);
  const a = values.a === undefined ? undefined : positive('--a', values.a);
  const perNode = values['a-per-node'] === undefined ? undefined : positive('--a-per-node', values['a-per-node']);
  const K = values.k === undefined ? PROTOTYPE_K : parseIntegerFlag('--k', values.k, 1, 1e9);
  const sizes = values.sizes === undefined ? PROTOTYPE_SIZES : parseSizes(values.sizes);
  const rows = nodes.map((n) => {
    const power = a ?? (perNode !== undefined ? perNode * n : 1);
    return { n, a: power, ...predict({ n, band: bandGbps * GBPS, a: power, K, sizes }) };
  });
  const svgPath = values.svg ?? 'ppov-model.svg';
  if (svgPath !== '') {
    const svg = await figure7Svg({ K, sizes, nodes: nodes.length > 1 ? nodes : [3, 5, 10, 20, 50, 100], bandsGbps: [1, 2, 4, 6, 8, 10], nForBand: nodes[nodes.length - 1]! });
    writeFileSync(svgPath, svg);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ bandGbps, K, sizes, rows, svg: svgPath || null })}\n`);
    return 0;
  }
  process.stdout.write(`model     equations (1)-(12), band ${bandGbps} Gbps, K ${formatCount(K)}, T ${sizes.T} B; computation fitted on the patent's Xeon Silver 4114 (a = 1 is one such server)\n`);
  process.stdout.write(`${'n'.padStart(5)} ${'a'.padStart(8)} ${'t_comp s'.padStart(10)} ${'t_tran s'.padStart(10)} ${'round s'.padStart(10)} ${'tx/s'.padStart(12)}\n`);
  for (const r of rows) {
    process.stdout.write(`${String(r.n).padStart(5)} ${r.a.toFixed(3).padStart(8)} ${r.tComp.toFixed(4).padStart(10)} ${r.tTran.toFixed(4).padStart(10)} ${r.tCons.toFixed(4).padStart(10)} ${formatCount(Math.round(r.throughput)).padStart(12)}\n`);
  }
  if (svgPath) process.stdout.write(`svg       ${svgPath} (throughput vs band and vs n, Figures 7A-7F)\n`);
  return 0;
}
