/**
 * The distributed system under load: `koubou up` (real processes: nats-server,
 * ledger, router, workers on zero-latency simulated backends), fed by this
 * process as a submitter.
 *  - burst: 2,000 tasks submitted as fast as acks allow; end-to-end tasks/s;
 *  - steady: 500 tasks/s for 4 s; submit → completed latency p50/p99;
 *  - router resident memory after the run;
 *  - the raw JetStream acknowledged-publish rate on the same server, and the ratio;
 *  - the burst again with 2 and 4 routers sharing the work.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connectBus, encode } from '../src/bus/index.ts';
import { topSelfTime } from './cpuProfile.ts';
import { cpuSpent, cpuTimes } from './processCpu.ts';
import { machineLine, percentile, recordSection, stamp } from './support.ts';
import { startUpSystem, waitFor, type UpSystem } from './upSystem.ts';

export async function runSystemBenchmark(): Promise<void> {
  // Every child of `up` writes a CPU profile here when it stops: the router's and the ledger's are summed up below.
  const profiles = mkdtempSync(join(tmpdir(), 'koubou-profiles-'));
  const system = await startUpSystem({ env: { KOUBOU_CPU_PROF_DIR: profiles } });
  const { url, env, up, done, submitAll } = system;
  try {
    // Warm-up.
    await submitAll(Array.from({ length: 200 }, (_, i) => `warm-${i}`), null);

    const cpuBefore = cpuTimes(up.pid!);
    const wallBefore = performance.now();
    const burstIds = Array.from({ length: 2000 }, (_, i) => `burst-${i}`);
    const burst = await submitAll(burstIds, null);
    const burstEnd = Math.max(...burstIds.map((id) => done.get(id)!));
    const tasksPerSec = burstIds.length / ((burstEnd - burst.t0) / 1000);
    const burstLat = burstIds.map((id) => done.get(id)! - burst.sent.get(id)!).sort((a, b) => a - b);

    const steadyIds = Array.from({ length: 2000 }, (_, i) => `steady-${i}`);
    const steady = await submitAll(steadyIds, 500);
    const lat = steadyIds.map((id) => done.get(id)! - steady.sent.get(id)!).sort((a, b) => a - b);

    const routerRss = rssOfChild(up.pid!, 'router');
    const cpu = cpuSection(cpuSpent(cpuBefore, cpuTimes(up.pid!)), (performance.now() - wallBefore) / 1000, burstIds.length + steadyIds.length);

    // More routers on the same server: 1, 2, 4 (the ones `up` started plus `koubou router` processes).
    const extra: ChildProcess[] = [];
    const scaling: { routers: number; tasksPerSec: number }[] = [{ routers: 1, tasksPerSec }];
    for (const routers of [2, 4]) {
      while (extra.length + 1 < routers) extra.push(await startRouter(system, `router-${extra.length + 2}`));
      const ids = Array.from({ length: 2000 }, (_, i) => `scale${routers}-${i}`);
      const run = await submitAll(ids, null);
      scaling.push({ routers, tasksPerSec: ids.length / ((Math.max(...ids.map((id) => done.get(id)!)) - run.t0) / 1000) });
    }
    for (const r of extra) r.kill('SIGTERM');

    const raw = await rawPublishRate(url, env);
    const md = [
      '## Distributed system (`koubou up`, zero-latency simulated backends)',
      '',
      `Ran ${stamp()} on ${machineLine()}; nats-server ${natsVersion()}. One router, one ledger, one worker per tier with 32 slots (and, idle, the gateway and an agent worker per tier), all on this machine; provider rate limits off; a mix of local, gpt5_medium and gpt5_high tasks.`,
      '',
      '| what | measured | goal |',
      '|---|---|---|',
      `| 2,000 tasks submitted at once, end to end (submit → completed event) | ${tasksPerSec.toFixed(0)} tasks/s; latency p50 ${percentile(burstLat, 50).toFixed(0)} ms, p99 ${percentile(burstLat, 99).toFixed(0)} ms | at least 1,000 tasks/s (the project's goal: 2,000) |`,
      `| steady 500 tasks/s for 4 s, submit → completed latency | p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms | p99 under 100 ms |`,
      `| router resident memory after 4,200 tasks | ${routerRss} | |`,
      `| raw JetStream acknowledged publishes, same server (file storage, 256 in flight) | ${raw.toFixed(0)} msgs/s; koubou does ${(raw / tasksPerSec).toFixed(1)} JetStream publishes' worth of time per task | at most 10 |`,
      ...scaling.map((r) => `| 2,000 tasks at once with ${r.routers} router${r.routers > 1 ? 's' : ''} on the same server | ${r.tasksPerSec.toFixed(0)} tasks/s (${(r.tasksPerSec / tasksPerSec).toFixed(2)}× one router) | grows until the server is the limit |`),
    ].join('\n');
    console.log(md);
    recordSection('system', md);
    console.log(cpu);
    recordSection('cpu', cpu);
  } finally {
    await system.close();
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

/** One more `koubou router` on the system's NATS, as a person would start it on another host. */
async function startRouter(system: UpSystem, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../bin/koubou.js', import.meta.url)), '--config', join(system.cwd, 'bench.yaml'), 'router', '--id', id], {
    cwd: system.cwd, env: { ...process.env, ...system.env, NATS_URL: system.url, KOUBOU_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  await waitFor(() => /routing submissions/.test(out), 30_000, () => out);
  return child;
}

function rssOfChild(parentPid: number, name: string): string {
  const ps = execFileSync('ps', ['-eo', 'pid,ppid,rss,args'], { encoding: 'utf8' });
  const line = ps.split('\n').find((l) => { const f = l.trim().split(/\s+/); return Number(f[1]) === parentPid && l.includes(` ${name}`); });
  return line ? `${(Number(line.trim().split(/\s+/)[2]) / 1024).toFixed(0)} MB` : 'unknown';
}

/** Where the CPU went during the burst and the steady run (`tasks` in all): every process's share of the machine's cores. */
function cpuSection(spent: [string, number][], wallSeconds: number, tasks: number): string {
  const cores = availableParallelism();
  const total = spent.reduce((n, [, s]) => n + s, 0);
  const perTask = (seconds: number) => (1000 * seconds) / tasks;
  return [
    `## CPU time per process, burst and steady run with one router (${tasks.toLocaleString('en')} tasks, ${stamp()})`,
    '',
    `${wallSeconds.toFixed(1)} s of wall time on ${cores} cores: ${(wallSeconds * cores).toFixed(1)} CPU seconds to give; the processes used ${total.toFixed(1)} (${(100 * total / (wallSeconds * cores)).toFixed(0)} %), ${perTask(total).toFixed(1)} ms of CPU per task. From /proc (user + system), each process's own and its threads'.`,
    '',
    '| process | CPU seconds | share of the CPU used | per task |',
    '|---|---|---|---|',
    ...spent.filter(([, s]) => s >= 0.05).map(([name, s]) => `| ${name} | ${s.toFixed(1)} | ${(100 * s / total).toFixed(0)} % | ${perTask(s).toFixed(2)} ms |`),
  ].join('\n');
}

function natsVersion(): string {
  try { return execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim().replace('nats-server: ', ''); } catch { return 'unknown'; }
}
