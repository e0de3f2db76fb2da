/**
 * The compiled AssemblyScript module (build/hashgrid.wasm) with a typed
 * surface. One instance per thread: the module's scratch memory is not shared.
 */
import { readFileSync } from 'node:fs';
import { abytes } from '../../core/bytes.js';
import { SCAN_PARAM_WORDS } from '../params.js';
import { builtFile, WASM_MODULE } from '../paths.js';

interface Exports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  sha256(msg: number, len: number, out: number): void;
  sha256Batch(msgs: number, len: number, count: number, out: number): void;
  merkleTreeHash(base: number, table: number, count: number, scratch: number, out: number): void;
  merkleScratch(count: number): number;
  scanScalar(params: number, start: number, count: number, hits: number, maxHits: number): number;
  scanSimd(params: number, start: number, count: number, hits: number, maxHits: number): number;
}

export type ScanKernel = 'simd' | 'scalar';

/** Result of one kernel call: every nonce that met the target, up to maxHits of them. */
export interface KernelScan {
  /** How many nonces met the target (may exceed hits.length when the hit buffer overflowed). */
  found: number;
  hits: number[];
}

let compiled: WebAssembly.Module | undefined;

export class WasmHasher {
  /** Hits stored per kernel call; more are counted, not stored. */
  static readonly MAX_HITS = 1024;
  private readonly x: Exports;
  private readonly paramsPtr: number;
  private readonly hitsPtr: number;
  private scratchPtr = 0;
  private scratchSize = 0;

  constructor() {
    compiled ??= new WebAssembly.Module(readFileSync(builtFile(WASM_MODULE)));
    const instance = new WebAssembly.Instance(compiled, {
      env: {
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new Error(`hashgrid.wasm aborted at ${line}:${col}`);
        },
      },
    });
    this.x = instance.exports as unknown as Exports;
    this.paramsPtr = this.x.alloc(SCAN_PARAM_WORDS * 4);
    this.hitsPtr = this.x.alloc(WasmHasher.MAX_HITS * 4);
  }

  private scratch(size: number): number {
    if (size > this.scratchSize) {
      this.scratchSize = Math.max(size, 2 * this.scratchSize, 4096);
      this.scratchPtr = this.x.alloc(this.scratchSize);
    }
    return this.scratchPtr;
  }

  private bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.x.memory.buffer, ptr, len);
  }

  /** SHA-256 of one message, on the scalar compression. */
  sha256(message: Uint8Array): Uint8Array {
    abytes(message, undefined, 'message');
    const ptr = this.scratch(message.length + 32);
    this.bytes(ptr, message.length).set(message);
    this.x.sha256(ptr, message.length, ptr + message.length);
    return this.bytes(ptr + message.length, 32).slice();
  }

  /**
   * SHA-256 of `count` messages of `length` bytes each, back to back in
   * `messages`; returns the digests back to back. Four messages share the
   * v128 lanes; a remainder below four goes through the scalar path.
   */
  sha256Batch(messages: Uint8Array, length: number, count: number): Uint8Array {
    abytes(messages, length * count, 'messages');
    const ptr = this.scratch(messages.length + 32 * count);
    this.bytes(ptr, messages.length).set(messages);
    this.x.sha256Batch(ptr, length, count, ptr + messages.length);
    return this.bytes(ptr + messages.length, 32 * count).slice();
  }

  /**
   * RFC 6962 §2.1 Merkle tree hash of one or more entries (leaf SHA-256(0x00
   * || entry), node SHA-256(0x01 || left || right)), computed in wasm four
   * hashes at a time (assembly/merkle.ts). Equal to the reference in
   * src/ppov/encode.ts (test/unit/ppov-hasher.test.ts).
   */
  merkleTreeHash(entries: readonly Uint8Array[]): Uint8Array {
    if (entries.length === 0) throw new RangeError('merkleTreeHash: no entries (the empty tree is SHA-256 of nothing)');
    const count = entries.length;
    // Each leaf's input, 0x00 || entry, back to back; then the (offset, length) table and the levels, 16-byte aligned.
    const inputBytes = entries.reduce((s, e) => s + 1 + e.length, 0);
    const align = (n: number) => (n + 15) & ~15;
    const ptr = align(this.scratch(inputBytes + 8 * count + this.x.merkleScratch(count) + 32 + 48));
    const table = align(ptr + inputBytes);
    const levels = align(table + 8 * count);
    const out = levels + this.x.merkleScratch(count);
    const inputs = this.bytes(ptr, inputBytes);
    const index = new Uint32Array(this.x.memory.buffer, table, 2 * count);
    let offset = 0;
    entries.forEach((entry, i) => {
      inputs[offset] = 0x00;
      inputs.set(entry, offset + 1);
      index[2 * i] = offset;
      index[2 * i + 1] = 1 + entry.length;
      offset += 1 + entry.length;
    });
    this.x.merkleTreeHash(ptr, table, count, levels, out);
    return this.bytes(out, 32).slice();
  }

  /** Sets the scan parameter block (see params.ts) for the following scans. */
  setParams(params: Uint32Array): void {
    new Uint32Array(this.x.memory.buffer, this.paramsPtr, SCAN_PARAM_WORDS).set(params);
  }

  /** Scans nonces [start, start + count) with the current parameters; count < 2^32. */
  scan(kernel: ScanKernel, start: number, count: number): KernelScan {
    const fn = kernel === 'simd' ? this.x.scanSimd : this.x.scanScalar;
    const found = fn(this.paramsPtr, start, count, this.hitsPtr, WasmHasher.MAX_HITS) >>> 0;
    const stored = Math.min(found, WasmHasher.MAX_HITS);
    const hits = Array.from(new Uint32Array(this.x.memory.buffer, this.hitsPtr, stored));
    return { found, hits };
  }
}
