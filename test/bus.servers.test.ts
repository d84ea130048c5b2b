/**
 * Actors take a list of server URLs (`NATS_URL=nats://a:4222,nats://b:4222`), as for the nodes
 * of a cluster: a node that does not answer is passed over for one that does.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../src/bus/index.ts';
import { startNats, type TestNats } from './support/nats.ts';

let nats: TestNats;
beforeAll(async () => { nats = await startNats(); });
afterAll(async () => { await nats?.stop(); });

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('a list of NATS servers', () => {
  it('connects through whichever listed server answers', async () => {
    const dead = `nats://127.0.0.1:${await deadPort()}`;
    for (const url of [`${dead},${nats.url}`, `${nats.url}, ${dead}`]) {
      const nc = await connectBus({ url, role: 'submitter', env: nats.env });
      try {
        expect(nc.getServer()).toBe(nats.url.replace('nats://', ''));
        await nc.flush();
      } finally {
        await nc.close();
      }
    }
  }, 30_000);
});
