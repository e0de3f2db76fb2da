/**
 * Batch SHA-256 on the GPU: many messages of one length per dispatch, one
 * invocation per message (shaders/sha256-batch.wgsl). With `double`, each
 * digest is hashed again: sha256d, the hash of one Merkle level's pairs.
 *
 * The host pads (FIPS 180-4 §5.1.1) and packs big-endian words (§5.2.1); the
 * kernel then only compresses whole blocks, the same count for every message.
 */
import { ErrorCode, HashgridError } from '../../core/errors.js';
import { BATCH_UNIFORM } from '../codegen/wgsl.js';
import { encodeDispatch } from './grid.js';
import type { GpuContext } from './webgpu.js';

/** 64-byte blocks of a `length`-byte message after padding. */
export const paddedBlocks = (length: number): number => Math.ceil((length + 9) / 64);

/** The padded messages as big-endian words, message after message. */
function padAll(messages: Uint8Array, count: number, length: number): Uint32Array<ArrayBuffer> {
  const blocks = paddedBlocks(length);
  const bytes = new Uint8Array(count * blocks * 64);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const at = i * blocks * 64;
    bytes.set(messages.subarray(i * length, (i + 1) * length), at);
    bytes[at + length] = 0x80;
    // The bit length as a 64-bit big-endian integer ends the last block.
    const bits = length * 8;
    view.setUint32(at + blocks * 64 - 8, Math.floor(bits / 2 ** 32), false);
    view.setUint32(at + blocks * 64 - 4, bits >>> 0, false);
  }
  const words = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(4 * i, false);
  return words;
}

/**
 * SHA-256 (or, with `double`, SHA-256d) of `count` messages of `length` bytes
 * stored back to back in `messages`; resolves with the 32-byte digests back to back.
 */
export async function sha256Batch(
  gpu: GpuContext,
  messages: Uint8Array,
  count: number,
  length: number,
  options: { double?: boolean } = {},
): Promise<Uint8Array> {
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(length) || length < 0 || messages.length !== count * length) {
    throw new HashgridError(ErrorCode.INVALID_LENGTH, `batch: expected ${count} messages of ${length} bytes (${count * length} bytes), got ${messages.length}`, {
      count,
      length,
      got: messages.length,
    });
  }
  const out = new Uint8Array(count * 32);
  if (count === 0) return out;
  const { device } = gpu;
  const blocks = paddedBlocks(length);
  // Stay within the default storage binding size (128 MiB) per dispatch.
  const perDispatch = Math.max(1, Math.floor(device.limits.maxStorageBufferBindingSize / (blocks * 64)));
  for (let first = 0; first < count; first += perDispatch) {
    const n = Math.min(perDispatch, count - first);
    const words = padAll(messages.subarray(first * length, (first + n) * length), n, length);
    const digests = await dispatch(gpu, words, n, blocks, options.double ? 2 : 1);
    const view = new DataView(out.buffer, first * 32, n * 32);
    digests.forEach((w, i) => view.setUint32(4 * i, w, false));
  }
  return out;
}

async function dispatch(gpu: GpuContext, words: Uint32Array<ArrayBuffer>, count: number, blocks: number, passes: number): Promise<Uint32Array> {
  const { device } = gpu;
  const uniform = device.createBuffer({ size: 4 * BATCH_UNIFORM.words, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const input = device.createBuffer({ size: words.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const output = device.createBuffer({ size: count * 32, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: count * 32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const u = new Uint32Array(BATCH_UNIFORM.words);
    u[BATCH_UNIFORM.count] = count;
    u[BATCH_UNIFORM.blocks] = blocks;
    u[BATCH_UNIFORM.passes] = passes;
    device.queue.writeBuffer(uniform, 0, u);
    device.queue.writeBuffer(input, 0, words);
    const bindGroup = device.createBindGroup({
      layout: gpu.batchPipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: uniform } },
        { binding: 1, resource: { buffer: input } },
        { binding: 2, resource: { buffer: output } },
      ],
    });
    const encoder = device.createCommandEncoder();
    encodeDispatch(encoder, gpu.batchPipeline, bindGroup, count);
    encoder.copyBufferToBuffer(output, 0, readback, 0, count * 32);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const digests = new Uint32Array(readback.getMappedRange().slice(0));
    readback.unmap();
    return digests;
  } finally {
    for (const b of [uniform, input, output, readback]) b.destroy();
  }
}
