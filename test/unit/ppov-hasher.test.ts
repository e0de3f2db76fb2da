/**
 * The engine's wasm Merkle tree hash (assembly/merkle.ts through
 * src/ppov/hasher.ts) gives exactly the reference's roots (RFC 6962's
 * recursive definition on @noble/hashes) and Certificate Transparency's.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../src/core/bytes.js';
import { sha256 } from '../../src/ppov/crypto.js';
import { referenceTxHasher, txMerkleRoot } from '../../src/ppov/encode.js';
import { wasmTxHasher } from '../../src/ppov/hasher.js';

const tx = (i: number, length: number) => {
  const out = new Uint8Array(length);
  for (let o = 0; o < length; o += 32) out.set(sha256(`tx-${i}-${o}`).subarray(0, Math.min(32, length - o)), o);
  return out;
};

// RFC 6962 Merkle tree hashes of the first n of these eight entries, from Certificate Transparency's test data.
const CT_ENTRIES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('PPoV Merkle roots on the engine wasm', () => {
  const wasm = wasmTxHasher();

  it("give Certificate Transparency's RFC 6962 roots for 1..8 entries, as does the reference", () => {
    for (let n = 1; n <= 8; n++) {
      const entries = CT_ENTRIES.slice(0, n).map((e) => hexToBytes(e));
      expect(bytesToHex(wasm.merkleRoot(entries)), `${n} entries`).toBe(CT_ROOTS[n - 1]);
      expect(bytesToHex(referenceTxHasher.merkleRoot(entries)), `${n} entries`).toBe(CT_ROOTS[n - 1]);
    }
  });

  it('an empty block has the empty tree hash, SHA-256 of nothing', () => {
    expect(txMerkleRoot([], wasm)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it("a list and the same list with its last transaction doubled differ (Bitcoin's tree gives both one root)", () => {
    const txs = [0, 1, 2].map((i) => tx(i, 40));
    expect(txMerkleRoot([...txs, txs[2]!], wasm)).not.toBe(txMerkleRoot(txs, wasm));
  });

  it('equal the reference for 1..70 transactions of 40 bytes (every lane and odd-level edge)', () => {
    for (let n = 1; n <= 70; n++) {
      const txs = Array.from({ length: n }, (_, i) => tx(i, 40));
      expect(txMerkleRoot(txs, wasm), `${n} transactions`).toBe(txMerkleRoot(txs, referenceTxHasher));
    }
  });

  it('equal the reference when the four lanes hold transactions of different padded lengths (0 to 1000 bytes)', () => {
    // 55/56 and 119/120 bytes are where the padding needs one more block.
    const lengths = [0, 1, 40, 55, 56, 63, 64, 119, 120, 128, 300, 1000];
    for (let n = 1; n <= 40; n++) {
      const txs = Array.from({ length: n }, (_, i) => tx(i, lengths[(i * 7 + n) % lengths.length]!));
      expect(txMerkleRoot(txs, wasm), `${n} transactions`).toBe(txMerkleRoot(txs, referenceTxHasher));
    }
  });

  it('equal the reference for a 10,000-transaction block, and one changed byte changes the root', () => {
    const big = Array.from({ length: 10_000 }, (_, i) => tx(i, 40));
    const root = txMerkleRoot(big, wasm);
    expect(root).toBe(txMerkleRoot(big, referenceTxHasher));
    big[9_999] = Uint8Array.from(big[9_999]!, (b, k) => (k === 39 ? b ^ 1 : b));
    expect(txMerkleRoot(big, wasm)).not.toBe(root);
  });
});
