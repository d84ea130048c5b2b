/**
 * A 3-node JetStream cluster with each node on a host of its own (network namespaces), the
 * router and ledger on one of them, local workers on two LAN hosts. A node is killed with
 * kill -9 mid-burst and started again: every task completes once, is charged once, and a
 * `koubou watch` started before sees each final event once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredentials, NatsCluster } from '../src/bus/index.ts';
import { runKoubou } from './support/cli.ts';
import { FinalCounter, ledgerSettled, ledgerTally } from './support/exactlyOnce.ts';
import { NATS_CLUSTER_CONF } from './support/nats.ts';
import { NetnsLab } from './support/netns.ts';
import { ActorProcess } from './support/processes.ts';
import { uniqueId } from './support/system.ts';

const why = NetnsLab.unavailable();
if (why) console.warn(`cluster.netns.test: NOT RUN: ${why}`);

describe.skipIf(why !== null)('a cluster across hosts', () => {
  let lab: NetnsLab;
  let cluster: NatsCluster;
  let env: Record<string, string>;
  let dir: string;
  let dbPath: string;
  const actors: ActorProcess[] = [];
  const start = async (host: string, name: string, args: string[], ready: RegExp) => {
    const a = await new ActorProcess(name, args, env, dir, lab.exec(host)).start(ready, 60_000);
    actors.push(a);
    return a;
  };

  beforeAll(async () => {
    lab = await NetnsLab.create(['n1', 'n2', 'n3', 'lan1', 'lan2']);
    dir = mkdtempSync(join(tmpdir(), 'koubou-cluster-ns-'));
    dbPath = join(dir, 'ledger.db');
    writeFileSync(join(dir, 'koubou.yaml'), 'nats:\n  work_ack_wait_seconds: 3\n');
    const creds = generateCredentials();
    cluster = await NatsCluster.start({
      configFile: NATS_CLUSTER_CONF, env: creds, hosts: ['n1', 'n2', 'n3'].map((h) => ({ prefix: lab.exec(h), address: lab.ip(h) })),
    });
    env = { ...creds, NATS_URL: cluster.url, KOUBOU_DB: dbPath, KOUBOU_CONFIG: join(dir, 'koubou.yaml') };
    await start('n1', 'ledger', ['ledger'], /ledger: writing/);
    await start('n1', 'router', ['router', '--id', 'router-1'], /routing submissions/);
    for (const host of ['lan1', 'lan2']) {
      await start(host, host, ['worker', '--tier', 'local', '--id', `${host}-worker`, '--sim-latency', '100', '--max-concurrent', '4'], /pulling from/);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(actors.map((a) => a.kill9()));
    await cluster?.stop({ kill: true });
    await lab?.destroy();
  });

  it('kill -9 of a node mid-burst and its restart: every task once, charged once, watched once', async () => {
    expect(actors.find((a) => a.name === 'router')!.output).toMatch(/3 replicas \(cluster koubou\)/);
    const watch = await start('n2', 'watch', ['watch', '--json'], /watching every task/);
    const tasks = Array.from({ length: 160 }, (_, i) => ({ taskId: uniqueId('cn'), prompt: `fix typo ${i} in the README` }));
    const ids = tasks.map((t) => t.taskId);
    const file = join(dir, 'burst.jsonl');
    writeFileSync(file, tasks.map((t) => JSON.stringify(t)).join('\n'));
    const submitted = runKoubou(['submit', '--jsonl', file], { env, cwd: dir, prefix: lab.exec('n3'), timeoutMs: 120_000 });

    while (ledgerTally(dbPath, ids).completed < 30) await new Promise((r) => setTimeout(r, 100));
    const node = cluster.nodes[0]!;
    await node.stop({ kill: true });
    while (ledgerTally(dbPath, ids).completed < 100) await new Promise((r) => setTimeout(r, 100));
    await node.restart();
    const r = await submitted;
    expect(r.stderr).not.toMatch(/not submitted|error/i);

    const ledger = await ledgerSettled(dbPath, ids, 120_000);
    expect(ledger.completed).toBe(ids.length);
    expect(ledger.costRows).toEqual({ 1: ids.length });
    const watched = new FinalCounter();
    const deadline = Date.now() + 30_000;
    do {
      watched.counts.clear();
      for (const line of watch.output.split('\n')) if (line.startsWith('{"')) watched.see(JSON.parse(line));
      if (watched.hasAll(ids)) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    expect(watched.tallyOf(ids)).toEqual({ 1: ids.length });
  }, 240_000);
});
