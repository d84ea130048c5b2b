// A TCP relay that adds latency, and drops its connections now and then: the fault a lossy,
// slow link makes, for kernels without tc's netem qdisc. Runs on a test's own host:
//   node delayRelay.mjs LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS [DROP_EVERY_MS]
// Each chunk is passed on DELAY_MS after it arrived, in both directions, in order.
import { createServer, connect } from 'node:net';

const [listenPort, targetHost, targetPort, delayMs, dropEveryMs] = process.argv.slice(2);
const delay = Number(delayMs);
const open = new Set();

const pipe = (from, to) => {
  from.on('data', (chunk) => setTimeout(() => { if (!to.destroyed) to.write(chunk); }, delay));
  from.on('close', () => setTimeout(() => to.destroy(), delay));
  from.on('error', () => {});
};

const server = createServer((client) => {
  const upstream = connect(Number(targetPort), targetHost);
  open.add(client);
  client.on('close', () => open.delete(client));
  pipe(client, upstream);
  pipe(upstream, client);
});
server.listen(Number(listenPort), '0.0.0.0', () => console.log(`relay ${listenPort} -> ${targetHost}:${targetPort}, +${delay} ms each way`));
if (Number(dropEveryMs) > 0) {
  setInterval(() => { for (const c of open) c.destroy(); }, Number(dropEveryMs));
}
