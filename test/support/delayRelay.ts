/**
 * A TCP relay that adds latency, and drops its connections now and then: the faults a slow,
 * lossy link makes, for kernels without tc's netem qdisc. Each chunk is passed on `delayMs`
 * after it arrived, in both directions, in order. Used in-process by the benchmarks, and on a
 * test's own host as a program:
 *   node bin/run-ts.js test/support/delayRelay.ts LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS [DROP_EVERY_MS]
 */
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface DelayRelayOptions {
  /** Port to listen on; 0 (default) picks one. */
  listenPort?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  listenHost?: string;
  targetHost: string;
  targetPort: number;
  /** Added each way, per chunk. */
  delayMs: number;
  /** Close every relayed connection this often (0, the default: never). */
  dropEveryMs?: number;
}

export interface DelayRelay {
  port: number;
  close(): Promise<void>;
}

export async function startDelayRelay(o: DelayRelayOptions): Promise<DelayRelay> {
  const open = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => setTimeout(() => { if (!to.destroyed) to.write(chunk); }, o.delayMs));
    from.on('close', () => setTimeout(() => to.destroy(), o.delayMs));
    from.on('error', () => {});
  };
  const server = createServer((client) => {
    const upstream = connect(o.targetPort, o.targetHost);
    open.add(client);
    client.on('close', () => open.delete(client));
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(o.listenPort ?? 0, o.listenHost ?? '127.0.0.1', resolve));
  const dropper = o.dropEveryMs ? setInterval(() => { for (const c of open) c.destroy(); }, o.dropEveryMs) : null;
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      if (dropper) clearInterval(dropper);
      for (const c of open) c.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [listenPort, targetHost, targetPort, delayMs, dropEveryMs] = process.argv.slice(2);
  const relay = await startDelayRelay({
    listenPort: Number(listenPort), listenHost: '0.0.0.0', targetHost: targetHost!, targetPort: Number(targetPort),
    delayMs: Number(delayMs), dropEveryMs: Number(dropEveryMs ?? 0),
  });
  console.log(`relay ${relay.port} -> ${targetHost}:${targetPort}, +${delayMs} ms each way`);
}
