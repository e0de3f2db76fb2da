/**
 * `hashgrid scan`: search a nonce window of one header for hashes that meet a target.
 */
import { headerBits, parseHeaderHex } from '../core/header.js';
import { NONCES_PER_HEADER } from '../core/job.js';
import { hashToDisplayHex } from '../core/sha256d.js';
import { bitsToTarget, difficultyToTarget, parseTargetHex, targetToHex } from '../core/target.js';
import { resolveBackend } from '../engine/calibrate.js';
import { closeAllGpus } from '../engine/gpu/webgpu.js';
import { BACKENDS, describeSpec, openEngine } from '../engine/index.js';
import { backendAndGpuFlags } from './gpus.js';
import { forFlag, parseFlags, parseIntegerFlag, UsageError } from './args.js';
import { formatCount, formatRate, progressBar } from './output.js';

export const SCAN_HELP = `Usage: hashgrid scan --header <hex> [options]

Searches nonces of one 80-byte block header for sha256d hashes that meet a target.

  --header <hex>        the header, 160 hex characters in serialized byte order (required)
  --start <n>           first nonce (default 0)
  --count <n>           how many nonces, 1 to 2^32 - start (default: all the rest)
  --bits <hex>          target from compact bits, e.g. 1d00ffff
  --target <hex>        target as 64 hex digits, big-endian display form
  --difficulty <d>      target from a pool difficulty (difficulty 1 = 0xffff * 2^208)
                        (default target: the header's own bits)
  --backend <name>      auto | ${Object.keys(BACKENDS).join(' | ')} (default wasm; gpu with --gpu)
  --gpu <index|name>    GPU adapter for gpu (see \`hashgrid gpus\`; default $HASHGRID_GPU, else high-performance)
  --threads <n>         worker threads (default: one per core)
  --json                print one JSON object: {"backend","hashes","seconds","hits":[{"nonce","hash"}],
                        "droppedHits"} (droppedHits: hits that met the target but did not fit a hit buffer)
`;

export async function scanCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    header: { type: 'string' },
    start: { type: 'string' },
    count: { type: 'string' },
    bits: { type: 'string' },
    target: { type: 'string' },
    difficulty: { type: 'string' },
    backend: { type: 'string' },
    gpu: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SCAN_HELP);
    return 0;
  }
  if (values.header === undefined) throw new UsageError('--header', 'required: the 80-byte header as 160 hex characters');
  const header = forFlag('--header', () => parseHeaderHex(values.header!));
  const start = values.start === undefined ? 0 : parseIntegerFlag('--start', values.start, 0, NONCES_PER_HEADER - 1);
  const count =
    values.count === undefined ? NONCES_PER_HEADER - start : parseIntegerFlag('--count', values.count, 1, NONCES_PER_HEADER - start);
  const targetFlags = (['bits', 'target', 'difficulty'] as const).filter((f) => values[f] !== undefined);
  if (targetFlags.length > 1) throw new UsageError(`--${targetFlags[1]}`, `give only one of --bits, --target, --difficulty`);
  const target =
    values.bits !== undefined
      ? forFlag('--bits', () => bitsToTarget(parseBits(values.bits!)))
      : values.target !== undefined
        ? forFlag('--target', () => parseTargetHex(values.target!))
        : values.difficulty !== undefined
          ? forFlag('--difficulty', () => difficultyToTarget(parseDifficulty(values.difficulty!)))
          : forFlag('--header', () => bitsToTarget(headerBits(header)));
  const { choice, adapter } = await backendAndGpuFlags(values.backend, values.gpu, 'wasm');
  const threads = values.threads === undefined ? undefined : parseIntegerFlag('--threads', values.threads, 1, 1024);

  const quiet = values.json === true;
  const log = (line: string) => quiet || process.stderr.write(`${line}\n`);
  const backend = await resolveBackend(choice, { log, ...(threads ? { threads } : {}) });
  if (choice === 'auto') log(`auto: ${describeSpec(backend)}`);
  const engine = await openEngine({ backend, log, ...(threads ? { threads } : {}), ...(adapter !== undefined ? { adapter } : {}) }).catch(
    async (e) => {
      await closeAllGpus();
      throw e;
    },
  );
  const bar = progressBar(count, 'scan', quiet);
  const abort = new AbortController();
  const onSigint = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    const result = await engine.scan(
      { header, start, count, target },
      { signal: abort.signal, onProgress: (done) => bar.update(done, engine.meter.rate()) },
    );
    bar.stop();
    const hits = result.hits.map((h) => ({ nonce: h.nonce, hash: hashToDisplayHex(h.hash) }));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ backend: result.backend, hashes: result.hashes, seconds: result.seconds, hits, droppedHits: result.droppedHits })}\n`);
    } else {
      const lines = [
        `backend   ${result.backend} (${engine.backend.lanes} ${engine.backend.lanes === 1 ? 'lane' : 'lanes'})`,
        `target    ${targetToHex(target)}`,
        `hashes    ${formatCount(result.hashes)} in ${result.seconds.toFixed(3)} s (${formatRate(result.hashes / Math.max(result.seconds, 1e-9))})`,
        `hits      ${hits.length}${result.droppedHits ? ` (+${result.droppedHits} not stored: hit buffer full)` : ''}`,
        ...hits.map((h) => `  nonce ${h.nonce}  hash ${h.hash}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    await engine.close();
    // Dawn keeps the process alive while a device exists.
    await closeAllGpus();
  }
}

function parseDifficulty(value: string): number {
  const d = Number(value);
  if (value.trim() === '' || !Number.isFinite(d) || d <= 0) throw new UsageError('--difficulty', `expected a number > 0, got "${value}"`);
  return d;
}

function parseBits(value: string): number {
  if (!/^(0x)?[0-9a-f]{1,8}$/i.test(value)) throw new UsageError('--bits', `expected compact bits as up to 8 hex digits (e.g. 1d00ffff), got "${value}"`);
  return Number.parseInt(value.replace(/^0x/i, ''), 16);
}
