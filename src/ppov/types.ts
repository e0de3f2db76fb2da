/**
 * PPoV ledger data (US 2020/0059369 A1, claim 14 and [0143]): blocks, the
 * voting messages of claim 11 S3, timeouts, block-group headers and block
 * groups. Every value is plain JSON (hex and base64 strings, numbers) so the
 * same objects travel through the simulation, the bus and the store.
 */

/** A bookkeeper's block for one height (claim 14: previous group hash, Merkle root, public key, timestamp, transactions). */
export interface Block {
  height: number;
  /** Id of the previous block group, 64 hex. */
  prevId: string;
  /** The bookkeeper's node id. */
  bookkeeper: string;
  /** Merkle root of the txids (sha256d of each transaction), 64 hex, internal byte order. */
  merkleRoot: string;
  /** Milliseconds since the epoch, as the bookkeeper's clock read it. */
  timestamp: number;
  /** The bookkeeper's hash-chain reveal for this height (draw.ts), 64 hex. */
  reveal: string;
  txCount: number;
  /** The transactions, each a u32le length then its bytes, back to back, base64. */
  txs: string;
  /** Ed25519 signature of blockHash (encode.ts), 128 hex. */
  sig: string;
}

/** One (block hash, approve/reject) pair of a voting message (claim 11 S3 (1)–(2)). */
export interface VoteEntry {
  bookkeeper: string;
  /** The block hash the voter holds from this bookkeeper, '' when it holds none. */
  block: string;
  approve: boolean;
}

/** The single voting message a consortium node sends per height (claim 11 S3). */
export interface Vote {
  height: number;
  prevId: string;
  voter: string;
  /** One entry per bookkeeper, in the bookkeeper order of the chain state. */
  entries: VoteEntry[];
  sig: string;
}

/** A consortium node's signed statement that the leader of (height, view) did not publish in time. */
export interface Timeout {
  height: number;
  view: number;
  voter: string;
  sig: string;
}

/** The per-block result written into the header (claim 11 S6): the approved hash, or '' when rejected. */
export interface SlotResult {
  bookkeeper: string;
  block: string;
}

/**
 * Block-group header (claim 11 S6–S8, [0143]). `groupId` is the identity
 * that chains groups together: it covers height, prevId, results and seed,
 * and NOT the view, the leader, or which votes were included, so every valid
 * header for one height names the same group (docs/ppov.md, "Safety").
 */
export interface GroupHeader {
  height: number;
  view: number;
  prevId: string;
  leader: string;
  results: SlotResult[];
  /** Seed of the drawing of lots after this group (draw.ts), 64 hex. */
  seed: string;
  /** The leader of view 0 at the next height, drawn from `seed` (claim 11 S7). */
  nextLeader: string;
  /** The bookkeepers of the next height: the term's list on the first group of a term ([0121]). */
  nextBookkeepers: string[];
  groupId: string;
  votes: Vote[];
  /** For view > 0: the quorum of timeouts of view − 1 that authorises this leader. */
  tc: Timeout[];
  sig: string;
}

/** A block group: the header and the approved blocks in bookkeeper order (claim 11 S10). */
export interface BlockGroup {
  header: GroupHeader;
  blocks: Block[];
}

/** A consortium member as the genesis lists it. */
export interface Member {
  id: string;
  /** Raw Ed25519 public key, 64 hex. */
  publicKey: string;
  /** Tip of the member's hash chain of reveals (draw.ts), 64 hex. */
  commitment: string;
}

/** Quorum rule for votes (docs/ppov.md): 'majority' is the patent's > n/2; 'bft' tolerates f < n/3 equivocating voters. */
export type QuorumMode = 'majority' | 'bft';

/** The chain's constitution, fixed in the genesis; its hash is the genesis id. */
export interface Genesis {
  chainId: string;
  /** Consortium nodes (the voters, n_c of [0145]) and leader candidates. */
  members: Member[];
  /** The first term's bookkeepers (n_b of [0146]), ids of members. */
  bookkeepers: string[];
  quorum: QuorumMode;
  /** K of equation (2): the most transactions one block carries. */
  maxTxPerBlock: number;
  /** Length of every member's hash chain of reveals: the ledger runs this many heights. */
  revealChainLength: number;
  /** Heights per duty cycle (T_c of [0099]). */
  termLength: number;
  /** Bookkeepers elected per term (N_c of [0099]). */
  bookkeepersPerTerm: number;
  timing: Timing;
}

/** Round timing, in milliseconds of the node's clock. */
export interface Timing {
  /** A voter votes once it holds every block, or this long after the round started. */
  blockDeadlineMs: number;
  /** A view's leader must publish within this long, else voters send timeouts. */
  viewTimeoutMs: number;
  /** Own blocks, votes and timeouts are re-sent this often until the height is stored. */
  rebroadcastMs: number;
  /**
   * A round starts no sooner than this long after the previous one started
   * (default 0: at once). Paces a ledger that would otherwise run empty
   * rounds back to back and spend its hash chain of reveals.
   */
  minRoundMs?: number;
}

/** Protocol messages between ledger nodes. */
export type PpovMessage =
  | { type: 'block'; block: Block }
  | { type: 'vote'; vote: Vote }
  | { type: 'timeout'; timeout: Timeout }
  | { type: 'header'; header: GroupHeader }
  | { type: 'sync-request'; from: string; height: number }
  | { type: 'sync-response'; groups: BlockGroup[] };
