/**
 * A real distribution center on a fresh nats-server with two sub-accounts
 * whose standards are out of reach, so work never stops for them: what the
 * scheduler tests that count shares start from.
 */
import { connectBus } from '../../src/bus/connect.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { DistributionCenter } from '../../src/center/center.js';
import { startServer } from './nats.js';

export async function unreachableStandards() {
  const server = await startServer();
  const nc = await connectBus({ servers: server.url });
  const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
  const accounts = [
    { id: 'alice', password: 'alice-secret', standard: 1e9, windowSeconds: 600 },
    { id: 'bob', password: 'bob-secret-1', standard: 1e9, windowSeconds: 600 },
  ];
  const center = await DistributionCenter.start({ nc, source: chain, subAccounts: accounts, initialDifficulty: 2 ** -16 });
  const close = async () => {
    await center.close();
    chain.close();
    await nc.close();
  };
  return { server, nc, chain, accounts, center, close };
}
