/**
 * Several backends hashing one job together (what `auto` runs when a measured
 * mix beats every backend alone): say a GPU and wasm threads on the cores its
 * driver leaves idle.
 *
 * Engine lanes are dealt out to the parts in order: lanes 0..a-1 are part 0's,
 * the next b part 1's, and so on. A lane runs one chunk at a time and the
 * engine sizes each lane's chunks by that lane's own measured rate, so a slow
 * part gets small chunks and a fast one large chunks.
 */
import type { Backend, ChunkRequest, ChunkResult } from './backend.js';

export class MixBackend implements Backend {
  readonly name: string;
  readonly lanes: number;
  readonly initialChunk: number;
  private readonly lanesOf: { part: Backend; index: number; lane: number }[] = [];

  constructor(readonly parts: readonly Backend[]) {
    if (parts.length === 0) throw new Error('MixBackend: no parts');
    this.name = parts.map((p) => p.name).join('+');
    parts.forEach((part, index) => {
      for (let lane = 0; lane < part.lanes; lane++) this.lanesOf.push({ part, index, lane });
    });
    this.lanes = this.lanesOf.length;
    // Before a lane has a rate, start small: the slowest part must not get a huge first chunk.
    this.initialChunk = Math.min(...parts.map((p) => p.initialChunk));
  }

  runChunk(request: ChunkRequest): Promise<ChunkResult> {
    const lane = request.lane ?? 0;
    const target = this.lanesOf[lane];
    if (!target) throw new Error(`MixBackend: lane ${lane} of ${this.lanes}`);
    return target.part.runChunk({ ...request, lane: target.lane });
  }

  partOfLane(lane: number): number {
    return this.lanesOf[lane]?.index ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.close()));
  }
}
