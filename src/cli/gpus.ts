/**
 * `hashgrid gpus`: the WebGPU adapters on this machine, numbered as `--gpu`
 * and $HASHGRID_GPU take them.
 */
import { closeAllGpus, GPU_ENV, listAdapters, matchAdapter } from '../engine/gpu/webgpu.js';
import { parseBackendChoice, type BackendChoice } from '../engine/index.js';
import { forFlag, parseFlags, UsageError } from './args.js';

export const GPUS_HELP = `Usage: hashgrid gpus [--json]

Lists the WebGPU adapters (Dawn) with vendor, architecture and description.
Pick one with \`--gpu <index|name>\` or ${GPU_ENV}=<index|name>; without either,
the gpu backend takes the high-performance adapter.

  --json     print a JSON array of {index, backend, name, vendor, architecture, description, software}
`;

/**
 * `--backend` and `--gpu` together. `--gpu` picks the adapter of the gpu
 * backend, so it makes gpu the default and goes with no other backend; its
 * value must name an adapter `hashgrid gpus` lists (an index, or part of a
 * name, vendor or description), checked here so a typo is a usage error
 * before anything starts.
 */
export async function backendAndGpuFlags(backend: string | undefined, gpu: string | undefined, defaultBackend: BackendChoice): Promise<{ choice: BackendChoice; adapter?: string }> {
  const choice = forFlag('--backend', () => parseBackendChoice(backend ?? (gpu !== undefined ? 'gpu' : defaultBackend)));
  if (gpu === undefined) return { choice };
  if (choice !== 'gpu') throw new UsageError('--gpu', `picks the adapter of --backend gpu, but --backend is ${choice}`);
  if (gpu.trim() === '') throw new UsageError('--gpu', 'expected an adapter index or name (see `hashgrid gpus`), got ""');
  const adapters = await listAdapters().catch(() => []);
  if (!matchAdapter(adapters, gpu)) {
    throw new UsageError('--gpu', `no adapter matches "${gpu}"; adapters: ${adapters.map((a) => `${a.index} ${a.name}`).join('; ') || 'none'}`);
  }
  return { choice, adapter: gpu };
}

export async function gpusCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(GPUS_HELP);
    return 0;
  }
  try {
    const adapters = await listAdapters();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(adapters)}\n`);
      return 0;
    }
    if (adapters.length === 0) {
      process.stdout.write('no WebGPU adapters (no GPU, and no software Vulkan such as lavapipe)\n');
      return 0;
    }
    const rows = [['index', 'vendor', 'architecture', 'kind', 'description'], ...adapters.map((a) => [String(a.index), a.vendor, a.architecture, a.software ? 'software' : 'hardware', `${a.description} [${a.backend}: ${a.name}]`])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`);
    return 0;
  } finally {
    await closeAllGpus();
  }
}
