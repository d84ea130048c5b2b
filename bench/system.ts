/**
 * The distributed system under load: `koubou up` (real processes: nats-server,
 * ledger, router, workers on zero-latency simulated backends), fed by this
 * process as a submitter.
 *  - burst: 2,000 tasks submitted as fast as acks allow; end-to-end tasks/s;
 *  - steady: 500 tasks/s for 4 s; submit → completed latency p50/p99;
 *  - router resident memory after the run;
 *  - the raw JetStream acknowledged-publish rate on the same server, and the ratio.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connectBus, decodeTaskEvents, encode, loadOrCreateCredentials, MSG_ID, STREAMS, SUBJECTS } from '../src/bus/index.ts';
import { topSelfTime } from './cpuProfile.ts';
import { machineLine, percentile, recordSection, stamp } from './support.ts';

const PROMPTS = ['fix a typo in the README', 'rename the helper to parseConfig', 'refactor this module to use dependency injection', 'design a distributed architecture for the queue'];

export async function runSystemBenchmark(): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), 'koubou-bench-'));
  writeFileSync(join(cwd, 'bench.yaml'), [
    'tiers:',
    // Provider rate limits off: this measures koubou's own overhead, not a tier's quota.
    '  gpt5_high: { rpm: null, tpm: null }',
    '  gpt5_medium: { rpm: null, tpm: null }',
    'budget: { monthly_usd: 1000000 }',
  ].join('\n'));
  // A fresh directory: its own .koubou/ (NATS store, ledger, credentials), nothing left from earlier runs.
  // Every child of `up` writes a CPU profile here when it stops: the router's and the ledger's are summed up below.
  const profiles = join(cwd, 'profiles');
  const up = spawn(process.execPath, [fileURLToPath(new URL('../bin/koubou.js', import.meta.url)), '--config', join(cwd, 'bench.yaml'), 'up', '--port', '0', '--slots', '32'], {
    cwd, env: { ...process.env, KOUBOU_DB: join(cwd, 'ledger.db'), NATS_URL: '', KOUBOU_CONFIG: '', KOUBOU_CPU_PROF_DIR: profiles }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  up.stdout!.on('data', (d) => { out += d; });
  up.stderr!.on('data', (d) => { out += d; });
  try {
    await waitFor(() => /worker-local\] worker .* pulling/.test(out) && /NATS\s+nats:/.test(out), 60_000, () => out);
    const url = /NATS\s+(nats:\/\/[\d.:]+)/.exec(out)![1]!;
    const env = loadOrCreateCredentials(join(cwd, '.koubou/credentials.env'));
    const nc = await connectBus({ url, role: 'submitter', env });
    const js = jetstream(nc);

    // Completion times come from the event stream, as any client would see them.
    const done = new Map<string, number>();
    const consumer = await js.consumers.get(STREAMS.events, { filter_subjects: SUBJECTS.taskEventAll, deliver_policy: DeliverPolicy.New });
    const events = await consumer.consume({ max_messages: 1000 });
    void (async () => {
      for await (const m of events) {
        for (const e of decodeTaskEvents(m.data, m.subject)) {
          if (e.status === 'completed' || e.status === 'failed') done.set(e.taskId, performance.now());
        }
      }
    })();

    const submitAll = async (ids: string[], ratePerSec: number | null) => {
      const sent = new Map<string, number>();
      const t0 = performance.now();
      const pending: Promise<unknown>[] = [];
      for (const [i, id] of ids.entries()) {
        if (ratePerSec) {
          const due = t0 + (i * 1000) / ratePerSec;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        }
        sent.set(id, performance.now());
        pending.push(js.publish(SUBJECTS.submit, encode({ taskId: id, prompt: PROMPTS[i % PROMPTS.length] }), { msgID: MSG_ID.submission(id) }));
        if (pending.length >= 256) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      await waitFor(() => ids.every((id) => done.has(id)), 300_000, () => `${ids.filter((id) => done.has(id)).length}/${ids.length} done\n${out.slice(-3000)}`);
      return { sent, t0 };
    };

    // Warm-up.
    await submitAll(Array.from({ length: 200 }, (_, i) => `warm-${i}`), null);

    const burstIds = Array.from({ length: 2000 }, (_, i) => `burst-${i}`);
    const burst = await submitAll(burstIds, null);
    const burstEnd = Math.max(...burstIds.map((id) => done.get(id)!));
    const tasksPerSec = burstIds.length / ((burstEnd - burst.t0) / 1000);
    const burstLat = burstIds.map((id) => done.get(id)! - burst.sent.get(id)!).sort((a, b) => a - b);

    const steadyIds = Array.from({ length: 2000 }, (_, i) => `steady-${i}`);
    const steady = await submitAll(steadyIds, 500);
    const lat = steadyIds.map((id) => done.get(id)! - steady.sent.get(id)!).sort((a, b) => a - b);

    const routerRss = rssOfChild(up.pid!, 'router');
    events.stop();
    await nc.close();

    const raw = await rawPublishRate(url, env);
    const md = [
      '## Distributed system (`koubou up`, zero-latency simulated backends)',
      '',
      `Ran ${stamp()} on ${machineLine()}; nats-server ${natsVersion()}. One router, one ledger, one worker per tier with 32 slots (and, idle, the gateway and an agent worker per tier), all on this machine; provider rate limits off; a mix of local, gpt5_medium and gpt5_high tasks.`,
      '',
      '| what | measured | goal |',
      '|---|---|---|',
      `| 2,000 tasks submitted at once, end to end (submit → completed event) | ${tasksPerSec.toFixed(0)} tasks/s; latency p50 ${percentile(burstLat, 50).toFixed(0)} ms, p99 ${percentile(burstLat, 99).toFixed(0)} ms | at least 2,000 tasks/s |`,
      `| steady 500 tasks/s for 4 s, submit → completed latency | p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms | p99 under 50 ms |`,
      `| router resident memory after 4,200 tasks | ${routerRss} | |`,
      `| raw JetStream acknowledged publishes, same server (file storage, 256 in flight) | ${raw.toFixed(0)} msgs/s; koubou does ${(raw / tasksPerSec).toFixed(1)} JetStream publishes' worth of time per task | |`,
    ].join('\n');
    console.log(md);
    recordSection('system', md);
  } finally {
    up.kill('SIGTERM');
    await new Promise((r) => up.once('exit', r));
  }
  const summary = ['router', 'ledger'].filter((name) => existsSync(join(profiles, `${name}.cpuprofile`))).map((name) => {
    const { seconds, rows } = topSelfTime(join(profiles, `${name}.cpuprofile`));
    return [`**${name}** (${seconds.toFixed(1)} s sampled, the whole run):`, '', '| self time | function |', '|---|---|',
      ...rows.map((r) => `| ${r.share.toFixed(1)} % | \`${r.where}\` |`), ''].join('\n');
  });
  if (summary.length) {
    const md = [`## Where the router and the ledger spend their time (\`node --cpu-prof\`, the run above, ${stamp()})`, '', ...summary].join('\n');
    console.log(md);
    recordSection('profile', md);
  }
}

async function rawPublishRate(url: string, env: Record<string, string>): Promise<number> {
  const nc = await connectBus({ url, role: 'router', env });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'], retention: RetentionPolicy.Limits, storage: StorageType.File });
  const js = jetstream(nc);
  const n = 20_000;
  const body = encode({ taskId: 'x'.repeat(36), prompt: 'fix a typo in the README' });
  const t0 = performance.now();
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    pending.push(js.publish('bench.raw', body));
    if (pending.length >= 256) { await Promise.all(pending); pending = []; }
  }
  await Promise.all(pending);
  const rate = n / ((performance.now() - t0) / 1000);
  await jsm.streams.delete('BENCH_RAW');
  await nc.close();
  return rate;
}

function rssOfChild(parentPid: number, name: string): string {
  const ps = execFileSync('ps', ['-eo', 'pid,ppid,rss,args'], { encoding: 'utf8' });
  const line = ps.split('\n').find((l) => { const f = l.trim().split(/\s+/); return Number(f[1]) === parentPid && l.includes(` ${name}`); });
  return line ? `${(Number(line.trim().split(/\s+/)[2]) / 1024).toFixed(0)} MB` : 'unknown';
}

function natsVersion(): string {
  try { return execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim().replace('nats-server: ', ''); } catch { return 'unknown'; }
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`benchmark timed out: ${what().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
