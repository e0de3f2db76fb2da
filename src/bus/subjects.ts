/**
 * Every NATS subject hashgrid uses, in one place. docs/protocol.md documents
 * each with its message schema (src/bus/schemas.ts).
 *
 * Node ids are single subject tokens ([A-Za-z0-9_-]), so per-node subjects
 * can be granted one node at a time (see auth.ts).
 */
export const SUBJECT_PREFIX = 'hashgrid';

export const subjects = {
  /** Request/reply, node → node pool: a node announces itself (NodeRegister → NodeRegistered). */
  nodeRegister: `${SUBJECT_PREFIX}.nodes.register`,
  /** Publish, node → anyone: liveness and hashrate (Heartbeat). */
  nodeHeartbeat: (nodeId: string) => `${SUBJECT_PREFIX}.nodes.${nodeId}.heartbeat`,
  /** Wildcard of every node's heartbeat. */
  allHeartbeats: `${SUBJECT_PREFIX}.nodes.*.heartbeat`,
  /** Request/reply, assigner → node: new work (WorkAssignment → WorkAccepted). */
  nodeWork: (nodeId: string) => `${SUBJECT_PREFIX}.nodes.${nodeId}.work`,
  /** Request/reply, operator/scheduler → node: pause, resume, cancel (Control → ControlDone). */
  nodeControl: (nodeId: string) => `${SUBJECT_PREFIX}.nodes.${nodeId}.control`,
  /**
   * Request/reply, pool → node: the node's registration again (NodeDescribe → NodeRegister).
   * A pool that starts after a node registered (a dashboard, a restarted scheduler) learns it
   * from its first heartbeat this way.
   */
  nodeDescribe: (nodeId: string) => `${SUBJECT_PREFIX}.nodes.${nodeId}.describe`,
  /** JetStream (stream SHARES), node → center: a share, published with an ack (Share). */
  share: (nodeId: string) => `${SUBJECT_PREFIX}.shares.${nodeId}`,
  /** Wildcard of every node's shares: the SHARES stream's subjects. */
  allShares: `${SUBJECT_PREFIX}.shares.*`,
  /** Publish, node → anyone: the node's job ran out of nonces (Exhausted). */
  nodeExhausted: (nodeId: string) => `${SUBJECT_PREFIX}.nodes.${nodeId}.exhausted`,
  /** Wildcard of every node's Exhausted messages. */
  allExhausted: `${SUBJECT_PREFIX}.nodes.*.exhausted`,
  /** Distribution center `<cid>` (request/reply unless noted): see docs/protocol.md. */
  center: (cid: string) => ({
    list: `${SUBJECT_PREFIX}.center.${cid}.subaccounts.list`,
    add: `${SUBJECT_PREFIX}.center.${cid}.subaccounts.add`,
    setStandard: `${SUBJECT_PREFIX}.center.${cid}.subaccounts.standard`,
    authenticate: `${SUBJECT_PREFIX}.center.${cid}.authenticate`,
    task: `${SUBJECT_PREFIX}.center.${cid}.task`,
    result: `${SUBJECT_PREFIX}.center.${cid}.result`,
    standard: `${SUBJECT_PREFIX}.center.${cid}.standard`,
    /** Request/reply: CenterStatsRequest → CenterStats (accepted, rejected by reason, blocks). */
    stats: `${SUBJECT_PREFIX}.center.${cid}.stats`,
    /** Publish: JobChanged events (a new template; `clean` = a new block, older tasks are stale). */
    jobChanged: `${SUBJECT_PREFIX}.center.${cid}.events.job`,
    /** Publish: StandardChanged events. */
    standardChanged: `${SUBJECT_PREFIX}.center.${cid}.events.standard`,
    /** JetStream: AcceptedShareBatch records (AcceptedShare in streams written before batching). */
    accepted: `${SUBJECT_PREFIX}.center.${cid}.accepted`,
  }),
  /** Wildcard of every center's JobChanged events. */
  allJobChanged: `${SUBJECT_PREFIX}.center.*.events.job`,
  /** Scheduler running plan `<plan>`: see docs/protocol.md. */
  scheduler: (plan: string) => ({
    /** Request/reply: SchedulerStatusRequest → SchedulerStatus. */
    status: `${SUBJECT_PREFIX}.scheduler.${plan}.status`,
    /** Request/reply: SchedulerAccountChange → SchedulerStatus (add, remove, re-prioritise). */
    accounts: `${SUBJECT_PREFIX}.scheduler.${plan}.accounts`,
    /** Publish: SchedulerEvent, one per decision, with its reason. */
    events: `${SUBJECT_PREFIX}.scheduler.${plan}.events`,
  }),
  /**
   * PPoV consortium ledger of chain `<chain>` (src/ppov/runtime.ts). The four
   * round messages are published to every node; the per-node subjects are
   * request/reply, except `groups` (catch-up help, published to one node).
   */
  ppov: (chain: string) => ({
    block: `${SUBJECT_PREFIX}.ppov.${chain}.block`,
    vote: `${SUBJECT_PREFIX}.ppov.${chain}.vote`,
    timeout: `${SUBJECT_PREFIX}.ppov.${chain}.timeout`,
    header: `${SUBJECT_PREFIX}.ppov.${chain}.header`,
    /** Request: PpovSyncRequest → PpovGroups (block groups from a height). */
    sync: (nodeId: string) => `${SUBJECT_PREFIX}.ppov.${chain}.nodes.${nodeId}.sync`,
    /** Publish: PpovGroups a peer sends to a node it saw behind. */
    groups: (nodeId: string) => `${SUBJECT_PREFIX}.ppov.${chain}.nodes.${nodeId}.groups`,
    /** Request: PpovSubmit → PpovSubmitted (transactions into the node's pool). */
    submit: (nodeId: string) => `${SUBJECT_PREFIX}.ppov.${chain}.nodes.${nodeId}.submit`,
    /** Request: PpovStatusRequest → PpovStatus. */
    status: (nodeId: string) => `${SUBJECT_PREFIX}.ppov.${chain}.nodes.${nodeId}.status`,
  }),
} as const;

/** JetStream key-value buckets. */
export const buckets = {
  /** Scheduler state per plan (key `state.<plan>`) and leadership (key `leader.<plan>`), with compare-and-set. */
  scheduler: 'hashgrid-scheduler',
  /** Sub-accounts added or changed over the bus on center `<cid>` (key `subaccount.<id>`, StoredSubAccount). */
  center: (cid: string) => `hashgrid-center-${cid}`,
} as const;

/** JetStream streams. */
export const streams = {
  /** Shares from every node; a share is acknowledged once stored here. */
  shares: { name: 'SHARES', subjects: [subjects.allShares] },
  /** Accepted shares of center `<cid>`: the accounting that survives restarts (replayed on start). */
  centerShares: (cid: string) => ({ name: `CENTER_${cid}`, subjects: [subjects.center(cid).accepted] }),
} as const;

/** The NATS Services ($SRV) name a hashing node registers under. */
export const NODE_SERVICE_NAME = 'hashgrid-node';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Node ids become subject tokens: letters, digits, '_' and '-', at most 64. */
export const isValidNodeId = (id: string): boolean => TOKEN.test(id);
