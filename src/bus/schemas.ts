/**
 * One schema per bus message (zod), each a JSON object with a schema version
 * `v`. Messages are validated where they enter a process: see codec.ts.
 */
import { z } from 'zod';

export const SCHEMA_VERSION = 1 as const;
const v = z.literal(SCHEMA_VERSION);

const nodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a node id: letters, digits, _ and -, at most 64');
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes * 2} lowercase hex characters`);
const uint32 = z.number().int().min(0).max(0xffffffff);

/** What a node runs on: shown to operators, used to compare benchmarks. */
export const HardwareProfile = z.object({
  hostname: z.string().max(255),
  cpuModel: z.string().max(255),
  cores: z.number().int().positive(),
  memoryBytes: z.number().int().nonnegative(),
  simd: z.array(z.string().max(32)).max(64),
  gpus: z.array(z.object({ vendor: z.string().max(128), architecture: z.string().max(128), description: z.string().max(255) })).max(64),
});
export type HardwareProfile = z.infer<typeof HardwareProfile>;

export const BackendRate = z.object({
  backend: z.string().max(32),
  lanes: z.number().int().positive(),
  /** Calibrated hashes per second. */
  hashrate: z.number().nonnegative(),
});

export const NodeRegister = z.object({
  v,
  nodeId,
  version: z.string().max(32),
  profile: HardwareProfile,
  backends: z.array(BackendRate).min(1).max(16),
});
export type NodeRegister = z.infer<typeof NodeRegister>;

/** Asks a node for its registration (the reply is a NodeRegister). */
export const NodeDescribe = z.object({ v });

export const NodeRegistered = z.object({ v, heartbeatMs: z.number().int().positive() });
export type NodeRegistered = z.infer<typeof NodeRegistered>;

export const NodeState = z.enum(['idle', 'mining', 'paused']);
export type NodeState = z.infer<typeof NodeState>;

/**
 * Longest job id on the bus. A scheduler's job id carries its center (≤ 64),
 * sub-account (≤ 64), the task's own job id, the extranonce2 range and ntime
 * (src/scheduler/extranonce2.ts); 256 leaves the pool's job id ~100 characters.
 */
export const JOB_ID_MAX = 256;
const jobId = z.string().max(JOB_ID_MAX);

export const Heartbeat = z.object({
  v,
  nodeId,
  seq: z.number().int().nonnegative(),
  state: NodeState,
  jobId: jobId.optional(),
  /** Hashes per second over the meter window, per backend. */
  hashrate: z.record(z.string().max(32), z.number().nonnegative()),
  sharesFound: z.number().int().nonnegative(),
  uptimeSeconds: z.number().nonnegative(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

const evenHex = (maxBytes: number) => z.string().regex(/^([0-9a-f]{2})*$/, 'lowercase hex, whole bytes').max(maxBytes * 2);

/**
 * The most bytes each coinbase part may have in work for a node: with both at
 * it, the longest job id and owner and a full merkle branch, a WorkAssignment
 * is still under MAX_PAYLOAD_BYTES (test/unit/scheduler-extranonce2.test.ts).
 * A pool's parts are smaller still: a Stratum line is at most 16 KiB.
 */
export const COINBASE_PART_MAX_BYTES = 15_000;

/**
 * The job's coinbase parts and an extranonce2 range: with them a node builds
 * a fresh header (coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2 → merkle root)
 * whenever a header's nonce window is spent, instead of running dry. Fields
 * are those of a Stratum job (src/stratum/job.ts), in its forms.
 */
export const CoinbaseRoll = z.object({
  /** Previous block hash, Stratum form (every 4-byte word swapped). */
  prevhash: hex(32),
  coinb1: evenHex(COINBASE_PART_MAX_BYTES),
  coinb2: evenHex(COINBASE_PART_MAX_BYTES),
  merkleBranch: z.array(hex(32)).max(32),
  version: hex(4),
  nbits: hex(4),
  ntime: hex(4),
  extranonce1: evenHex(16),
  extranonce2Size: z.number().int().min(1).max(8),
  /** The node's extranonce2 values: start, start + 1, … (big-endian numbers), `count` of them. */
  extranonce2Start: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  extranonce2Count: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type CoinbaseRoll = z.infer<typeof CoinbaseRoll>;

/**
 * Work for one node: a header template and the nonce window it may search
 * in each header. `header` is 80 serialized bytes. Without `coinbase` the
 * node rolls nothing, so the job is exhausted when the window is spent; with
 * it, `header` must be the header of extranonce2Start, and the node moves to
 * the next extranonce2 each time the window is spent, until the range is.
 */
export const WorkAssignment = z.object({
  v,
  jobId: jobId.min(1),
  /** Who the work is for (a sub-account): every share carries it. */
  owner: z.string().min(1).max(128),
  header: hex(80),
  nonceStart: uint32,
  nonceCount: z.number().int().min(1).max(2 ** 32),
  /** Share target, 64 hex digits big-endian (display form). */
  shareTarget: hex(32),
  coinbase: CoinbaseRoll.optional(),
});
export type WorkAssignment = z.infer<typeof WorkAssignment>;

export const WorkAccepted = z.object({ v, jobId });

export const Control = z.object({ v, action: z.enum(['pause', 'resume', 'cancel']) });
export type Control = z.infer<typeof Control>;

export const ControlDone = z.object({ v, state: NodeState });

export const Share = z.object({
  v,
  nodeId,
  jobId,
  owner: z.string().max(128),
  nonce: uint32,
  /** The full header with the nonce, 160 hex characters. */
  header: hex(80),
  /** sha256d of the header, display hex. */
  hash: hex(32),
  /** The extranonce2 of the header (hex, extranonce2Size bytes), when the work carried a coinbase. */
  extranonce2: evenHex(8).optional(),
  foundAt: z.number().int().nonnegative(),
});
export type Share = z.infer<typeof Share>;

export const Exhausted = z.object({ v, nodeId, jobId });

/** The reply to any request that failed. */
export const ErrorReply = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorReply = z.infer<typeof ErrorReply>;

// ---- Distribution center (src/center): sub-accounts, tasks, results, standards.

const subAccountId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a sub-account id: letters, digits, _ and -, at most 64');
const rate = z.object({ hashrate: z.number().nonnegative(), relativeError: z.number().nonnegative(), shares: z.number().int().nonnegative(), seconds: z.number().nonnegative() });

export const SubAccountInfo = z.object({
  id: subAccountId,
  /** Hashes per second the sub-account must sustain over `windowSeconds`. */
  standard: z.number().nonnegative(),
  windowSeconds: z.number().int().positive(),
  upToStandard: z.boolean(),
  /** Σ accepted share difficulty × 2^32: the accumulated capability, in hashes. */
  accumulatedHashes: z.number().nonnegative(),
  acceptedShares: z.number().int().nonnegative(),
  delivered: z.record(z.string(), rate),
});
export type SubAccountInfo = z.infer<typeof SubAccountInfo>;

export const SubAccountListRequest = z.object({ v });
export const SubAccountList = z.object({ v, centerId: z.string(), subAccounts: z.array(SubAccountInfo) });
export type SubAccountList = z.infer<typeof SubAccountList>;

export const SubAccountAdd = z.object({
  v,
  id: subAccountId,
  password: z.string().min(8).max(256),
  standard: z.number().nonnegative(),
  windowSeconds: z.number().int().positive().max(86_400),
});
export const SubAccountSetStandard = z.object({ v, id: subAccountId, standard: z.number().nonnegative(), windowSeconds: z.number().int().positive().max(86_400).optional() });
export const SubAccountReply = z.object({ v, info: SubAccountInfo });

/** Claim 3: authentication information → authentication result; only then tasks. */
export const Authenticate = z.object({ v, subAccount: subAccountId, password: z.string().max(256) });
export const Authenticated = z.object({ v, subAccount: subAccountId, token: z.string() });

export const TaskRequest = z.object({ v, token: z.string().max(128) });
/** A proof-of-work task: a Stratum job with the session's extranonce1 and share target. */
export const Task = z.object({
  v,
  subAccount: subAccountId,
  jobId: z.string(),
  prevhash: hex(32),
  coinb1: z.string().regex(/^[0-9a-f]*$/),
  coinb2: z.string().regex(/^[0-9a-f]*$/),
  merkleBranch: z.array(hex(32)),
  version: hex(4),
  nbits: hex(4),
  ntime: hex(4),
  cleanJobs: z.boolean(),
  extranonce1: z.string().regex(/^[0-9a-f]+$/),
  extranonce2Size: z.number().int().min(1).max(16),
  versionMask: uint32,
  shareTarget: hex(32),
});
export type Task = z.infer<typeof Task>;

/** A task result: a share, as mining.submit carries it. */
export const TaskResult = z.object({
  v,
  token: z.string().max(128),
  jobId,
  extranonce2: z.string().regex(/^[0-9a-f]+$/).max(32),
  ntime: hex(4),
  nonce: hex(4),
  versionBits: hex(4).optional(),
});
export type TaskResult = z.infer<typeof TaskResult>;
export const TaskResultAck = z.object({ v, accepted: z.literal(true), blockCandidate: z.boolean() });

export const StandardQuery = z.object({ v, subAccount: subAccountId });

export const CenterStatsRequest = z.object({ v });
/** A center's share counters since it started (replayed shares count as accepted). */
export const CenterStats = z.object({
  v,
  centerId: z.string(),
  accepted: z.number().int().nonnegative(),
  /** Rejected shares by reason: invalid, stale-or-unknown-job, duplicate, low-difficulty, unauthorized, not-subscribed. */
  rejected: z.record(z.string(), z.number().int().nonnegative()),
  /** Shares that were also block candidates. */
  blocks: z.number().int().nonnegative(),
});
export type CenterStats = z.infer<typeof CenterStats>;

/** Published whenever a sub-account's up-to-standard decision changes. */
export const StandardChanged = z.object({ v, centerId: z.string(), subAccount: subAccountId, upToStandard: z.boolean(), hashrate: z.number(), at: z.number().int() });
export type StandardChanged = z.infer<typeof StandardChanged>;

/**
 * Published on each new job (a new template): with `clean` (a new block) every
 * older task is stale at once, so a bus client should take a fresh task now
 * rather than at its next poll.
 */
export const JobChanged = z.object({ v, centerId: z.string(), jobId: z.string(), height: z.number().int().nonnegative(), clean: z.boolean(), at: z.number().int() });

/** One accepted share as the center persists it (JetStream, stream CENTER_<cid>). */
export const AcceptedShare = z.object({ v, centerId: z.string(), subAccount: subAccountId, difficulty: z.number().positive(), at: z.number().int(), jobId: z.string() });
export type AcceptedShare = z.infer<typeof AcceptedShare>;

/** The most shares one batch carries: 500 × ~100 bytes stays well under the 1 MiB nats-server default payload. */
export const MAX_SHARES_PER_BATCH = 500;

/**
 * Accepted shares stored together (group commit): one JetStream message, one
 * ack, and every miner in it hears "accepted" only after that ack. Streams
 * written before batching hold single AcceptedShare records; replay reads both.
 */
export const AcceptedShareBatch = z.object({
  v,
  centerId: z.string(),
  shares: z
    .array(z.object({ subAccount: subAccountId, difficulty: z.number().positive(), at: z.number().int(), jobId: z.string() }))
    .min(1)
    .max(MAX_SHARES_PER_BATCH),
});
export type AcceptedShareBatch = z.infer<typeof AcceptedShareBatch>;

/**
 * A sub-account added or changed over the bus, as the center persists it
 * (JetStream KV, bucket `hashgrid-center-<cid>`, key `subaccount.<id>`), so
 * that it outlives a restart. `since` is when the account began to accumulate.
 */
export const StoredSubAccount = z.object({
  v,
  id: subAccountId,
  passwordHash: z.string().startsWith('scrypt$'),
  standard: z.number().nonnegative(),
  windowSeconds: z.number().int().positive().max(86_400),
  since: z.number().int(),
});
export type StoredSubAccount = z.infer<typeof StoredSubAccount>;

// ---- Scheduler (src/scheduler)

/** A sub-account of a hashgrid distribution center, reached over NATS. */
const CenterSubAccount = z.object({
  center: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  id: subAccountId,
  password: z.string().min(8).max(256),
  /** Lower runs first in sequential mode (default: plan order). */
  priority: z.number().int().optional(),
});

/** A sub-account of any Stratum V1 pool: the pool reports no delivered hashrate, so the plan gives the standard. */
const PoolSubAccount = z.object({
  pool: z.object({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65535) }),
  id: subAccountId,
  /** Worker name on the pool (default `<id>.hashgrid`). */
  worker: z.string().min(1).max(128).optional(),
  password: z.string().max(256),
  standard: z.number().nonnegative(),
  windowSeconds: z.number().int().positive().max(86_400).default(600),
  priority: z.number().int().optional(),
});

export const SchedulerSubAccount = z.union([CenterSubAccount, PoolSubAccount]);
export type SchedulerSubAccount = z.infer<typeof SchedulerSubAccount>;

/** A scheduler plan (the --plan file, JSON or YAML-free JSON). */
export const SchedulerPlan = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('default'),
  mode: z.enum(['parallel', 'sequential']).default('parallel'),
  subAccounts: z.array(SchedulerSubAccount).min(1).max(1000),
  /** Nodes kept in reserve for fail-over (claim 4). */
  standby: z.array(nodeId).max(1000).default([]),
  /** How often to decide (default 2000 ms). */
  decisionMs: z.number().int().min(100).max(60_000).default(2000),
  /**
   * Sequential mode: keep sub-accounts already up to standard there with a
   * maintenance share while the rest of the pool works for the first one
   * behind (default true); false is claim 1 to the letter.
   */
  maintain: z.boolean().default(true),
  /** Period over which a time-sliced node cycles through its sub-accounts (default 10,000 ms). */
  sliceMs: z.number().int().min(500).max(600_000).default(10_000),
});
export type SchedulerPlan = z.infer<typeof SchedulerPlan>;

export const SchedulerAccountChange = z.discriminatedUnion('action', [
  z.object({ v, action: z.literal('add'), account: SchedulerSubAccount }),
  z.object({ v, action: z.literal('remove'), center: z.string(), id: subAccountId }),
  z.object({ v, action: z.literal('priority'), center: z.string(), id: subAccountId, priority: z.number().int() }),
]);

export type SchedulerAccountChange = z.infer<typeof SchedulerAccountChange>;

export const SchedulerStatusRequest = z.object({ v });

export const SchedulerAccountStatus = z.object({
  key: z.string(),
  state: z.enum(['pending', 'authenticating', 'mining', 'up-to-standard', 'failed']),
  standard: z.number(),
  delivered: z.number(),
  relativeError: z.number(),
  progress: z.number(),
  target: z.number(),
  nodes: z.array(z.string()),
  etaSeconds: z.number().nullable(),
  priority: z.number(),
  reason: z.string().optional(),
});
export const SchedulerStatus = z.object({
  v,
  plan: z.string(),
  mode: z.enum(['parallel', 'sequential']),
  /** The instance that answered: the leader acts, a standby only reports (and refuses changes with NOT_LEADER). */
  role: z.enum(['leader', 'standby']),
  leader: z.string(),
  capacity: z.number(),
  tiers: z.record(z.string(), z.enum(['heavy', 'medium', 'light'])),
  /** Per center when several compete: measured demand, the tier's reservation, what it was allotted and lent (H/s). */
  reservations: z.record(z.string(), z.object({ tier: z.enum(['heavy', 'medium', 'light']), demand: z.number(), reserved: z.number(), allotted: z.number(), lent: z.number() })),
  accounts: z.array(SchedulerAccountStatus),
  nodes: z.array(z.object({ id: z.string(), state: z.enum(['active', 'standby', 'failed', 'probation', 'idle']), rate: z.number(), slices: z.array(z.object({ account: z.string(), fraction: z.number() })) })),
  forwarded: z.object({
    accepted: z.number().int(),
    rejected: z.number().int(),
    /** Shares the scheduler did not forward, by error code (EXTRANONCE2_OUT_OF_RANGE, INVALID_MESSAGE, ...); absent from schedulers before it counted them. */
    refused: z.record(z.string(), z.number().int().nonnegative()).optional(),
  }),
});
export type SchedulerStatus = z.infer<typeof SchedulerStatus>;

export const SchedulerEvent = z.object({ v, plan: z.string(), at: z.number().int(), kind: z.string(), reason: z.string(), data: z.record(z.string(), z.unknown()).optional() });
export type SchedulerEvent = z.infer<typeof SchedulerEvent>;
// ---- PPoV consortium ledger (src/ppov): the round's messages, catch-up, submission, status.
// The ledger objects are those of src/ppov/types.ts; signatures cover their canonical bytes (src/ppov/encode.ts).

const hexOrEmpty = z.string().regex(/^([0-9a-f]{64})?$/, '64 lowercase hex characters, or empty');
const height = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const signature = hex(64);
/**
 * Strict base64 (RFC 4648 §4 alphabet, padded). Not a regex: a 590 kB block
 * takes 3 ms through /^[A-Za-z0-9+/]*={0,2}$/ and 0.3 ms here. Node's decoder
 * skips characters outside the alphabet and stops at '=', so any of them
 * leaves fewer bytes than the length promises; only base64url's '-' and '_',
 * which it also reads, need their own look.
 */
const isStrictBase64 = (s: string): boolean => {
  if (s.length % 4 !== 0 || s.includes('-') || s.includes('_')) return false;
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return Buffer.from(s, 'base64').length === (s.length / 4) * 3 - padding;
};
const base64 = z.string().refine(isStrictBase64, 'base64');

export const PpovBlockData = z.object({
  height,
  prevId: hex(32),
  bookkeeper: nodeId,
  merkleRoot: hex(32),
  timestamp: z.number().int().nonnegative(),
  reveal: hex(32),
  txCount: z.number().int().nonnegative(),
  txs: base64,
  sig: signature,
});
const VoteEntry = z.object({ bookkeeper: nodeId, block: hexOrEmpty, approve: z.boolean() });
export const PpovVoteData = z.object({ height, prevId: hex(32), voter: nodeId, entries: z.array(VoteEntry).max(1024), sig: signature });
export const PpovTimeoutData = z.object({ height, view: z.number().int().min(0).max(1_000_000), voter: nodeId, sig: signature });
export const PpovHeaderData = z.object({
  height,
  view: z.number().int().min(0).max(1_000_000),
  prevId: hex(32),
  leader: nodeId,
  results: z.array(z.object({ bookkeeper: nodeId, block: hexOrEmpty })).max(1024),
  seed: hex(32),
  nextLeader: nodeId,
  nextBookkeepers: z.array(nodeId).max(1024),
  groupId: hex(32),
  votes: z.array(PpovVoteData).max(1024),
  tc: z.array(PpovTimeoutData).max(1024),
  sig: signature,
});
export const PpovGroupData = z.object({ header: PpovHeaderData, blocks: z.array(PpovBlockData).max(1024) });

/** Published on `ppov.<chain>.block`: a bookkeeper's block (claim 11 S1). */
export const PpovBlock = z.object({ v, block: PpovBlockData });
/** Published on `ppov.<chain>.vote`: a consortium node's one voting message per height (claim 11 S3). */
export const PpovVote = z.object({ v, vote: PpovVoteData });
/** Published on `ppov.<chain>.timeout`: the leader of (height, view) did not publish in time. */
export const PpovTimeout = z.object({ v, timeout: PpovTimeoutData });
/** Published on `ppov.<chain>.header`: the leader's block-group header (claim 11 S6–S8). */
export const PpovHeader = z.object({ v, header: PpovHeaderData });
/** Request on `ppov.<chain>.nodes.<id>.sync`: block groups from `height` on, for node `from`. */
export const PpovSyncRequest = z.object({ v, from: nodeId, height: height.min(1) });
/** Reply to PpovSyncRequest, and published on `ppov.<chain>.nodes.<id>.groups`: consecutive block groups. */
export const PpovGroups = z.object({ v, groups: z.array(PpovGroupData).max(64) });
/** Request on `ppov.<chain>.nodes.<id>.submit`: transactions (base64) for the node's next blocks. */
export const PpovSubmit = z.object({ v, txs: z.array(base64.max(65_536)).min(1).max(10_000) });
export const PpovSubmitted = z.object({ v, accepted: z.number().int().nonnegative(), pending: z.number().int().nonnegative() });
export const PpovStatusRequest = z.object({ v });
/** A node's view of its chain. */
export const PpovStatus = z.object({
  v,
  nodeId,
  chainId: z.string(),
  height,
  tipId: hex(32),
  view: z.number().int().nonnegative(),
  pending: z.number().int().nonnegative(),
  /** Messages rejected by a ledger rule since start, by error code. */
  rejected: z.record(z.string(), z.number().int().nonnegative()),
  /** Pieces of evidence of misbehaviour the node has stored (equivocations, signed invalid blocks). */
  evidence: z.number().int().nonnegative(),
});
export type PpovStatus = z.infer<typeof PpovStatus>;
/** Reply to a round message published as a request (a publisher that asked whether it was taken). */
export const PpovAccepted = z.object({ v, accepted: z.literal(true) });

// ---- Accounting on the ledger (src/ppov/accounting.ts): what the center and the scheduler
// write into PPoV transactions, so every consortium member holds the same signed accounts.

const streamSeq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** Entries one `work` record carries at most. */
export const ACCOUNTING_MAX_ENTRIES = 1000;
/** JSON bytes of one accounting record at most: its base64 must fit PpovSubmit's 65,536 characters per transaction. */
export const ACCOUNTING_MAX_BYTES = 40_000;
/**
 * One ledger transaction of accounting. `work` lists a center's accepted
 * shares as [stream sequence, sub-account, shares, Σ difficulty]: per record
 * of the center's JetStream stream CENTER_<cid> (one record may hold a batch
 * of shares) and sub-account; the work a share proves is difficulty × 2^32
 * hashes. Sequences make the ledger's accounts exact: a stream record whose
 * sequence is already on the chain is a duplicate and counts once.
 * `stream` is the stream's creation time: a stream created anew numbers from 1
 * again, and its sequences are a cursor of their own.
 * `standard` is an up-to-standard decision of a center; `decision` one
 * scheduler decision.
 */
export const AccountingRecord = z.discriminatedUnion('kind', [
  z.object({
    v,
    kind: z.literal('work'),
    centerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    stream: z.string().min(1).max(64),
    shares: z.array(z.tuple([streamSeq, subAccountId, z.number().int().min(1), z.number().positive()])).min(1).max(ACCOUNTING_MAX_ENTRIES),
  }),
  z.object({ v, kind: z.literal('standard'), event: StandardChanged }),
  z.object({ v, kind: z.literal('decision'), event: SchedulerEvent }),
]);
export type AccountingRecord = z.infer<typeof AccountingRecord>;
