/**
 * Piscina worker of verifier.ts, off the node's thread: decodes and validates
 * one block message and computes its facts (Merkle root, governance
 * transactions), or computes the Merkle root of framed transactions. Runs
 * compiled, from dist/.
 */
import { decode, PPOV_MAX_PAYLOAD_BYTES } from '../bus/codec.js';
import { PpovBlock } from '../bus/schemas.js';
import { isHashgridError } from '../core/errors.js';
import { factsOfBlockTxs } from './chain.js';
import { unframeTxs, type TxHasher } from './encode.js';
import { wasmTxHasher } from './hasher.js';
import type { CheckedBlock, VerifierTask } from './verifier.js';

let hasher: TxHasher | undefined;

export function checkBlockMessage(data: Uint8Array): CheckedBlock {
  hasher ??= wasmTxHasher();
  let block;
  try {
    block = decode(PpovBlock, data, 'PpovBlock', PPOV_MAX_PAYLOAD_BYTES).block;
  } catch (e) {
    if (!isHashgridError(e)) throw e;
    return { error: { code: e.code, message: e.message, data: e.data } };
  }
  try {
    return { block, facts: factsOfBlockTxs(block, hasher) };
  } catch {
    // A framing that breaks a rule: the node's own verifyBlock names it (and keeps the signed block as evidence).
    return { block };
  }
}

export default function run(task: VerifierTask): CheckedBlock | Uint8Array {
  if (task.kind === 'block') return checkBlockMessage(task.data);
  hasher ??= wasmTxHasher();
  return hasher.merkleRoot(unframeTxs(task.framed, task.count));
}
