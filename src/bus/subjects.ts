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
  /** JetStream (stream SHARES), node → center: a share, published with an ack (Share). */
  share: (nodeId: string) => `${SUBJECT_PREFIX}.shares.${nodeId}`,
  /** Wildcard of every node's shares: the SHARES stream's subjects. */
  allShares: `${SUBJECT_PREFIX}.shares.*`,
  /** Publish, node → anyone: the node's job ran out of nonces (Exhausted). */
  nodeExhausted: (nodeId: string) => `${SUBJECT_PREFIX}.nodes.${nodeId}.exhausted`,
} as const;

/** JetStream streams. */
export const streams = {
  /** Shares from every node; a share is acknowledged once stored here. */
  shares: { name: 'SHARES', subjects: [subjects.allShares] },
} as const;

/** The NATS Services ($SRV) name a hashing node registers under. */
export const NODE_SERVICE_NAME = 'hashgrid-node';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Node ids become subject tokens: letters, digits, '_' and '-', at most 64. */
export const isValidNodeId = (id: string): boolean => TOKEN.test(id);
