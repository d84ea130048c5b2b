/**
 * koubou across real network boundaries on one machine: a "master" host (nats-server, router,
 * ledger), two LAN hosts each running the documented LAN-worker command line against a
 * simulated Ollama on a "gpu" host, and a cloud-tier worker on a host of its own, each in its own
 * network namespace with an address that exists only there. Then the faults: a LAN host's
 * cable pulled mid-run and put back, and latency with loss on another's link. Every task
 * completes once and is charged once; the cut-off worker is marked offline, its work goes to the
 * other, and it rejoins when its link returns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredentials, NatsServerProcess } from '../src/bus/index.ts';
import { openLedgerDb } from '../src/db/index.ts';
import { runKoubou } from './support/cli.ts';
import { FinalCounter, ledgerSettled, ledgerTally } from './support/exactlyOnce.ts';
import { NATS_CONF } from './support/nats.ts';
import { NetnsLab } from './support/netns.ts';
import { ActorProcess } from './support/processes.ts';
import { uniqueId } from './support/system.ts';

const RELAY = fileURLToPath(new URL('./support/delayRelay.ts', import.meta.url));
const RUN_TS = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
const why = NetnsLab.unavailable();
if (why) console.warn(`lan.netns.test: NOT RUN: ${why}`);

describe.skipIf(why !== null)('hosts of their own (network namespaces)', () => {
  let lab: NetnsLab;
  let server: NatsServerProcess;
  let env: Record<string, string>;
  let dir: string;
  let dbPath: string;
  let watch: ActorProcess;
  const actors: ActorProcess[] = [];

  const start = async (host: string, name: string, args: string[], ready: RegExp) => {
    const a = await new ActorProcess(name, args, env, dir, lab.exec(host)).start(ready, 40_000);
    actors.push(a);
    return a;
  };
  const workerState = (id: string) => {
    const db = openLedgerDb(dbPath, { readonly: true });
    try {
      return (db.prepare('SELECT status FROM workers WHERE worker_id = ?').get(id) as { status: string } | undefined)?.status;
    } finally {
      db.close();
    }
  };
  /** Submits from the master host (the test's own process is on no host of the lab). */
  const submit = async (prompts: string[]) => {
    const tasks = prompts.map((prompt) => ({ taskId: uniqueId('ns'), prompt }));
    const file = join(dir, `${tasks[0]!.taskId}.jsonl`);
    writeFileSync(file, tasks.map((t) => JSON.stringify(t)).join('\n'));
    const r = await runKoubou(['submit', '--jsonl', file], { env, cwd: dir, prefix: lab.exec('master') });
    expect(r.stderr).not.toMatch(/not submitted|error/i);
    return tasks.map((t) => t.taskId);
  };
  const until = async (what: string, fn: () => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!fn()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const watched = () => {
    const c = new FinalCounter();
    const byWorker = new Map<string, string>();
    for (const line of watch.output.split('\n')) {
      if (!line.startsWith('{"')) continue;
      const e = JSON.parse(line);
      c.see(e);
      if (e.status === 'completed') byWorker.set(e.taskId, e.result?.workerId);
    }
    return { finals: c, byWorker };
  };

  beforeAll(async () => {
    lab = await NetnsLab.create(['master', 'lan1', 'lan2', 'gpu', 'cloud']);
    dir = mkdtempSync(join(tmpdir(), 'koubou-netns-'));
    dbPath = join(dir, 'ledger.db');
    writeFileSync(join(dir, 'koubou.yaml'), 'nats:\n  work_ack_wait_seconds: 3\n');
    const creds = generateCredentials();
    server = await NatsServerProcess.start({ configFile: NATS_CONF, env: creds, port: 4222, prefix: lab.exec('master') });
    const master = `nats://${lab.ip('master')}:4222`;
    env = { ...creds, NATS_URL: master, KOUBOU_DB: dbPath, KOUBOU_CONFIG: join(dir, 'koubou.yaml'), OPENAI_API_KEY: 'sk-sim-netns' };
    await start('master', 'ledger', ['ledger'], /ledger: writing/);
    await start('master', 'router', ['router', '--id', 'router-1'], /routing submissions/);
    await start('gpu', 'sim', ['sim', '--host', '0.0.0.0', '--port', '11434', '--latency', '250'], /koubou sim listening/);
    const gpu = `http://${lab.ip('gpu')}:11434`;
    // The LAN-worker command line of docs/operations.md, on each LAN host.
    for (const [host, id] of [['lan1', 'remote_lan_001'], ['lan2', 'remote_lan_002']] as const) {
      await start(host, id, ['worker', '--tier', 'local', '--ollama', gpu, '--nats', master, '--id', id, '--max-concurrent', '2'], /pulling from/);
    }
    await start('cloud', 'cloud', ['worker', '--tier', 'gpt5_medium', '--openai-base-url', `${gpu}/v1`, '--nats', master, '--id', 'medium-cloud-1', '--max-concurrent', '4'], /pulling from/);
    watch = await start('master', 'watch', ['watch', '--json'], /watching every task/);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(actors.map((a) => a.kill9()));
    await server?.stop();
    await lab?.destroy();
  });

  it('reaches NATS and Ollama only over the lab\'s links', async () => {
    // From the test's own namespace, the master's address does not exist.
    const r = await runKoubou(['status', '--json'], { env: { ...env, NATS_URL: `nats://${lab.ip('master')}:4222` }, cwd: dir, timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    const ids = await submit(['fix a typo in the README', 'refactor this module to use dependency injection']);
    const ledger = await ledgerSettled(dbPath, ids, 60_000);
    expect(ledger.completed).toBe(2);
    await until('both tasks watched', () => watched().finals.hasAll(ids));
    const { byWorker } = watched();
    expect(byWorker.get(ids[0]!)).toMatch(/^remote_lan_00[12]$/);
    expect(byWorker.get(ids[1]!)).toBe('medium-cloud-1');
  }, 90_000);

  it('a LAN host\'s cable pulled mid-run: its work goes to the other, it is marked offline, and rejoins when the link returns', async () => {
    const first = await submit(Array.from({ length: 24 }, (_, i) => `fix typo number ${i} in the README`));
    await until('lan1 busy', () => workerState('remote_lan_001') === 'busy', 20_000);
    lab.linkDown('lan1');
    await until('lan1 marked offline', () => workerState('remote_lan_001') === 'offline', 30_000);
    const whileCut = await ledgerSettled(dbPath, first, 90_000);
    expect(whileCut.completed).toBe(first.length);
    expect(whileCut.costRows).toEqual({ 1: first.length });

    lab.linkUp('lan1');
    await until('lan1 back', () => workerState('remote_lan_001') !== 'offline', 30_000);
    // Back on the bus, it takes work again: batches until one of its tasks is done by it (its
    // pulls resume once TCP's retransmissions get through, a few seconds after the link).
    const second: string[] = [];
    const deadline = Date.now() + 60_000;
    while (!second.some((id) => watched().byWorker.get(id) === 'remote_lan_001') && Date.now() < deadline) {
      const batch = await submit(Array.from({ length: 8 }, (_, i) => `fix typo number ${i} in CONTRIBUTING`));
      second.push(...batch);
      await ledgerSettled(dbPath, batch, 60_000);
      await until('batch watched', () => watched().finals.hasAll(batch));
    }
    const after = ledgerTally(dbPath, second);
    expect(after.completed).toBe(second.length);
    expect(after.costRows).toEqual({ 1: second.length });
    await until('every task watched', () => watched().finals.hasAll([...first, ...second]));
    const { finals, byWorker } = watched();
    expect(finals.tallyOf([...first, ...second])).toEqual({ 1: first.length + second.length });
    expect(second.some((id) => byWorker.get(id) === 'remote_lan_001')).toBe(true);
  }, 240_000);

  it('latency and loss between a LAN worker and the master: every task once', async () => {
    // tc netem where the kernel has it; otherwise (container kernels often lack sch_netem) a relay
    // on the master host that delays every byte and drops lan2's connections every 2 s.
    const netem = lab.netemAvailable();
    let relay: ChildProcess | null = null;
    if (netem) {
      lab.netem('lan2', '80ms', '5%');
    } else {
      console.warn('lan.netns.test: this kernel has no netem qdisc: latency from a delaying relay (+80 ms each way), loss as dropped connections every 2 s');
      const [command, ...rest] = [...lab.exec('master'), process.execPath, RUN_TS, RELAY, '14222', '127.0.0.1', '4222', '80', '2000'];
      relay = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((r) => relay!.stdout!.once('data', r));
      await actors.find((a) => a.name === 'remote_lan_002')!.stop();
      // The relay drops every connection every 2 s, so a worker's first handshake through it can be cut
      // and the worker exits (a first connection is not retried): start it again, up to three times.
      for (let attempt = 1; ; attempt++) {
        try {
          await start('lan2', `remote_lan_002b${attempt > 1 ? `-${attempt}` : ''}`, ['worker', '--tier', 'local', '--ollama', `http://${lab.ip('gpu')}:11434`, '--nats', `nats://${lab.ip('master')}:14222`,
            '--id', 'remote_lan_002', '--max-concurrent', '2'], /pulling from nats:\/\/[0-9.]+:14222/);
          break;
        } catch (e) {
          if (attempt === 3 || !/cannot connect to NATS/.test(String(e))) throw e;
        }
      }
    }
    try {
      const ids = await submit(Array.from({ length: 24 }, (_, i) => (i % 4 === 0 ? `refactor module ${i} to use dependency injection` : `fix typo ${i} in the docs`)));
      const ledger = await ledgerSettled(dbPath, ids, 120_000);
      expect(ledger.completed).toBe(ids.length);
      expect(ledger.costRows).toEqual({ 1: ids.length });
      await until('every task watched', () => watched().finals.hasAll(ids));
      const { finals, byWorker } = watched();
      expect(finals.tallyOf(ids)).toEqual({ 1: ids.length });
      // The slow link's worker did take part.
      expect(ids.some((id) => byWorker.get(id) === 'remote_lan_002')).toBe(true);
    } finally {
      if (netem) lab.clearNetem('lan2');
      relay?.kill('SIGKILL');
    }
  }, 180_000);
});
