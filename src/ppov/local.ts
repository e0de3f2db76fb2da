/**
 * A local consortium of four ledger nodes in one process (`hashgrid up`):
 * genesis and keys are made on first use under `stateDir` and reused after,
 * so the chain survives restarts; the nodes share one NATS connection.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { makeConsortium, readGenesis, readIdentity, writeGenesis, writeIdentity } from './genesis.js';
import { wasmTxHasher } from './hasher.js';
import { PpovNode, PpovTransport } from './runtime.js';
import { PpovStore } from './store.js';

export interface LocalConsortium {
  chainId: string;
  nodes: PpovNode[];
  stateDir: string;
  stop(): Promise<void>;
}

export const LOCAL_IDS = ['ledger-a', 'ledger-b', 'ledger-c', 'ledger-d'];

export function startLocalConsortium(options: { nc: NatsConnection; stateDir: string; log?: (line: string) => void }): LocalConsortium {
  const dir = options.stateDir;
  const genesisPath = join(dir, 'genesis.json');
  if (!existsSync(genesisPath)) {
    mkdirSync(dir, { recursive: true });
    const c = makeConsortium({ chainId: 'local', ids: LOCAL_IDS });
    writeGenesis(genesisPath, c.genesis);
    for (const id of LOCAL_IDS) writeIdentity(join(dir, `${id}.key`), id, c.seeds[id]!);
  }
  const genesis = readGenesis(genesisPath);
  const transport = new PpovTransport(options.nc, genesis.chainId);
  const hasher = wasmTxHasher();
  const nodes = genesis.members.map((m) =>
    PpovNode.start({
      transport,
      genesis,
      identity: readIdentity(join(dir, `${m.id}.key`), genesis),
      hasher,
      store: PpovStore.open(join(dir, m.id)),
      ...(options.log ? { log: options.log } : {}),
    }),
  );
  return {
    chainId: genesis.chainId,
    nodes,
    stateDir: dir,
    stop: async () => {
      for (const n of nodes) await n.stop();
      await transport.close();
    },
  };
}
