// hashgrid's WebAssembly module. The host allocates its buffers once with
// `alloc` and passes pointers; nothing here keeps state between calls except
// scratch space, so one instance serves one thread.
export { sha256, sha256Batch } from './sha256';
export { merkleTreeHash, merkleScratch } from './merkle';
export { scanScalar, scanSimd } from './scan.generated';

/** Reserves `size` bytes of linear memory (never freed: buffers live as long as the instance). */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}
