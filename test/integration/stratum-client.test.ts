/**
 * The Stratum client against a hostile pool (a real TCP server on loopback):
 * an over-long line closes the connection with a typed error instead of
 * throwing inside the socket callback, which would kill the whole process.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratumClient } from '../../src/stratum/client.js';
import { MAX_LINE_BYTES, StratumCode, type StratumError } from '../../src/stratum/protocol.js';

describe('Stratum client against a hostile pool', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // Answers the first request with a line longer than any client accepts, then a valid reply.
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write(`{"id":1,"result":"${'x'.repeat(MAX_LINE_BYTES + 10)}`);
        socket.write('","error":null}\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('drops the connection with a typed error on an over-long line, and the process carries on', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const client = await StratumClient.connect({ host: '127.0.0.1', port, timeoutMs: 10_000 });
      const protocolError = new Promise<StratumError>((resolve) => client.once('protocolError', resolve));
      const closed = new Promise<void>((resolve) => client.once('close', resolve));
      await expect(client.subscribe()).rejects.toMatchObject({ code: 'STRATUM', message: /connection closed: line longer than 16384 bytes/ });
      expect(await protocolError).toMatchObject({ code: 'STRATUM', stratumCode: StratumCode.OTHER });
      await closed;
      expect(client.closedBy?.message).toMatch(/line longer than/);
      // Later calls fail at once instead of waiting for a reply that cannot come.
      await expect(client.authorize('alice', 'x')).rejects.toMatchObject({ code: 'STRATUM', message: /connection closed/ });
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
