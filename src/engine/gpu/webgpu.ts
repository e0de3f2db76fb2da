/**
 * WebGPU through Dawn's Node bindings (npm `webgpu`): loading, the list of
 * adapters, choosing one, and one device per adapter with its pipelines.
 *
 * A device and its compiled pipelines are expensive (lavapipe JIT-compiles
 * the unrolled kernel with LLVM), so they are made once per adapter per
 * process and shared by every backend and batch job on it (`openGpu`). A lost
 * device leaves the cache; the next `openGpu` makes a new one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, HashgridError } from '../../core/errors.js';
import { WGSL_BATCH_FILE, WGSL_SCAN_FILE } from '../codegen/wgsl.js';
import { PACKAGE_ROOT } from '../paths.js';

/** Environment variable choosing an adapter, as `--gpu` does. */
export const GPU_ENV = 'HASHGRID_GPU';

/** What `hashgrid gpus` shows of an adapter. */
export interface AdapterSummary {
  /** Position in `listAdapters()`: what `--gpu <index>` picks. */
  index: number;
  /** Dawn's backend (vulkan, metal, d3d12, ...) and adapter name. */
  backend: string;
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  /** A software (CPU) implementation such as lavapipe. */
  software: boolean;
}

type Dawn = typeof import('webgpu');
let dawn: Promise<Dawn> | undefined;

/** Loads Dawn's Node module once; installs the WebGPU globals (GPUBufferUsage, ...) it needs. */
function loadDawn(): Promise<Dawn> {
  dawn ??= import('webgpu').then(
    (m) => {
      Object.assign(globalThis, m.globals);
      return m;
    },
    (e: Error) => {
      dawn = undefined;
      throw new HashgridError(ErrorCode.GPU_UNAVAILABLE, `WebGPU (npm webgpu, Dawn) could not be loaded: ${e.message}`, {});
    },
  );
  return dawn;
}

/**
 * A GPU instance with Dawn options. Each holds native resources while it is
 * referenced; instances are dropped when their devices are destroyed.
 */
async function instance(options: string[] = []): Promise<GPU> {
  return (await loadDawn()).create(options);
}

const summarize = (index: number, backend: string, name: string, info: GPUAdapterInfo): AdapterSummary => ({
  index,
  backend,
  name,
  vendor: info.vendor || 'unknown',
  architecture: info.architecture || 'unknown',
  description: info.description || name,
  software: info.isFallbackAdapter ?? /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.architecture} ${name}`),
});

/**
 * Every adapter Dawn can open. WebGPU itself only hands out "the" adapter for
 * a power preference; Dawn's Node bindings list all of them in the error for
 * an adapter name that does not exist (documented in the package README), so
 * we ask for one that cannot exist and open each listed adapter by name.
 */
export async function listAdapters(): Promise<AdapterSummary[]> {
  const listed: { backend: string; name: string }[] = [];
  try {
    await (await instance(['adapter=\u0001hashgrid-list-adapters'])).requestAdapter();
  } catch (e) {
    for (const m of String((e as Error).message).matchAll(/backend: '([^']*)', name: '([^']*)'/g)) {
      listed.push({ backend: m[1]!, name: m[2]! });
    }
  }
  const out: AdapterSummary[] = [];
  for (const { backend, name } of listed) {
    const adapter = await (await instance([`backend=${backend}`, `adapter=${name}`])).requestAdapter().catch(() => null);
    if (adapter) out.push(summarize(out.length, backend, name, adapter.info));
  }
  if (out.length === 0) {
    // Not the listing format we know: fall back to the default adapter alone.
    const adapter = await (await instance()).requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) out.push(summarize(0, 'default', adapter.info.device || adapter.info.description, adapter.info));
  }
  return out;
}

/**
 * Which adapter to use: an index into `listAdapters()`, or a case-insensitive
 * part of its name, vendor or description. Undefined = the high-performance
 * adapter WebGPU picks (a discrete GPU before an integrated one).
 */
export type AdapterSelector = string | undefined;

/** The adapter a non-empty selector picks from `all`: by index, else the first whose name, vendor or description contains it. */
export function matchAdapter(all: readonly AdapterSummary[], selector: string): AdapterSummary | undefined {
  const wanted = selector.toLowerCase();
  return /^\d+$/.test(selector) ? all[Number(selector)] : all.find((a) => `${a.name} ${a.vendor} ${a.description}`.toLowerCase().includes(wanted));
}

async function requestAdapter(selector: AdapterSelector): Promise<{ adapter: GPUAdapter; summary: AdapterSummary; gpu: GPU }> {
  if (selector === undefined || selector === '') {
    const gpu = await instance();
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new HashgridError(ErrorCode.GPU_UNAVAILABLE, 'no WebGPU adapter found (no GPU, and no software Vulkan such as lavapipe)', {});
    const all = await listAdapters();
    const summary = all.find((a) => a.description === adapter.info.description) ?? summarize(0, 'default', adapter.info.description, adapter.info);
    return { adapter, summary, gpu };
  }
  const all = await listAdapters();
  const summary = matchAdapter(all, selector);
  if (!summary) {
    throw new HashgridError(
      ErrorCode.GPU_UNAVAILABLE,
      `gpu: no adapter matches "${selector}"; adapters: ${all.map((a) => `${a.index} ${a.name}`).join('; ') || 'none'}`,
      { selector },
    );
  }
  const gpu = await instance(summary.backend === 'default' ? [] : [`backend=${summary.backend}`, `adapter=${summary.name}`]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new HashgridError(ErrorCode.GPU_UNAVAILABLE, `gpu: adapter "${summary.name}" could not be opened`, { selector });
  return { adapter, summary, gpu };
}

/** A device on one adapter with the kernels compiled for it. */
export interface GpuContext {
  readonly adapter: AdapterSummary;
  readonly device: GPUDevice;
  readonly scanPipeline: GPUComputePipeline;
  readonly batchPipeline: GPUComputePipeline;
  /** Time spent compiling both pipelines (ms): lavapipe's LLVM is the slow part. */
  readonly compileMs: number;
  /** Why the device was lost, once it is; undefined while it works. */
  readonly lostReason: string | undefined;
}

class Context implements GpuContext {
  lostReason: string | undefined;
  constructor(
    readonly adapter: AdapterSummary,
    readonly device: GPUDevice,
    readonly scanPipeline: GPUComputePipeline,
    readonly batchPipeline: GPUComputePipeline,
    readonly compileMs: number,
    // Dawn's instance lives as long as something references it.
    readonly gpu: GPU,
  ) {}
}

const shaderText = (file: string) => readFileSync(join(PACKAGE_ROOT, file), 'utf8');

async function compile(device: GPUDevice, file: string, entryPoint: string): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ code: shaderText(file), label: file });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    throw new HashgridError(ErrorCode.GPU_UNAVAILABLE, `${file}: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`, { file });
  }
  return device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint }, label: entryPoint });
}

const contexts = new Map<string, Promise<Context>>();

/** Adapter selector from an explicit value, else $HASHGRID_GPU. */
export const adapterSelector = (explicit?: string): AdapterSelector => explicit ?? process.env[GPU_ENV];

/**
 * The shared device for an adapter (see AdapterSelector), with its pipelines;
 * made on first use. Rejects with GPU_UNAVAILABLE when there is no such adapter.
 */
export function openGpu(selector: AdapterSelector = adapterSelector()): Promise<GpuContext> {
  const key = selector ?? '';
  let context = contexts.get(key);
  if (!context) {
    context = (async () => {
      const { adapter, summary, gpu } = await requestAdapter(selector);
      const device = await adapter.requestDevice({ label: `hashgrid on ${summary.name}` });
      const t0 = performance.now();
      const [scan, batch] = await Promise.all([compile(device, WGSL_SCAN_FILE, 'scan'), compile(device, WGSL_BATCH_FILE, 'batchHash')]);
      const ctx = new Context(summary, device, scan, batch, performance.now() - t0, gpu);
      void device.lost.then((info) => {
        ctx.lostReason = `${info.reason}: ${info.message}`;
        if (contexts.get(key) === context) contexts.delete(key);
      });
      return ctx;
    })();
    context.catch(() => contexts.delete(key));
    contexts.set(key, context);
  }
  return context;
}

/** Destroys every shared device (the process can exit; later `openGpu` calls start afresh). */
export async function closeAllGpus(): Promise<void> {
  const all = [...contexts.values()];
  contexts.clear();
  for (const c of all) {
    try {
      (await c).device.destroy();
    } catch {
      // It never opened: nothing to destroy.
    }
  }
}
