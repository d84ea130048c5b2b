/**
 * koubou on a 3-node JetStream cluster on this machine (`koubou up --cluster 3`, every stream
 * with 3 replicas) against one nats-server, in the same run; then a node killed (kill -9) in
 * the middle of a burst of 2,000 tasks: tasks lost, tasks charged twice, and how long until
 * completions run at half their earlier rate again.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connectBus, STREAMS } from '../src/bus/index.ts';
import { openLedgerDb } from '../src/db/index.ts';
import { machineLine, recordSection, stamp } from './support.ts';
import { startUpSystem, type UpSystem } from './upSystem.ts';

const BURST = 2000;

/** Warm-up, then a burst: tasks/s from the first submission to the last final event. */
async function burstRate(system: UpSystem, tag: string): Promise<number> {
  await system.submitAll(Array.from({ length: 200 }, (_, i) => `${tag}-warm-${i}`), null);
  const ids = Array.from({ length: BURST }, (_, i) => `${tag}-burst-${i}`);
  const { t0 } = await system.submitAll(ids, null);
  return BURST / ((Math.max(...ids.map((id) => system.done.get(id)!)) - t0) / 1000);
}

async function measure(args: string[], tag: string): Promise<number> {
  const system = await startUpSystem({ args });
  try {
    return await burstRate(system, tag);
  } finally {
    await system.close();
  }
}

interface NodeLoss { lost: number; chargedTwice: number; killedAt: number; leader: string; recoveryMs: number; longestGapMs: number; tasksPerSec: number }

async function nodeLoss(): Promise<NodeLoss> {
  const system = await startUpSystem({ args: ['--cluster', '3'] });
  try {
    await system.submitAll(Array.from({ length: 200 }, (_, i) => `loss-warm-${i}`), null);
    const ids = Array.from({ length: BURST }, (_, i) => `loss-${i}`);
    const t0 = performance.now();
    const submitting = system.submitAll(ids, null).catch((e: Error) => e);
    const doneCount = () => ids.filter((id) => system.done.has(id)).length;
    while (doneCount() < BURST / 4) await new Promise((r) => setTimeout(r, 5));
    // The node leading the work queue goes, as in a power cut.
    const nc = await connectBus({ url: system.url, role: 'router', env: system.env });
    const leader = (await (await jetstreamManager(nc)).streams.info(STREAMS.work)).cluster!.leader!;
    await nc.close();
    const pid = Number(new RegExp(`${leader} pid (\\d+)`).exec(system.output())![1]);
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    const outcome = await submitting;
    const times = ids.map((id) => system.done.get(id)).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const lost = BURST - times.length;
    const before = times.filter((t) => t > killedAt - 2000 && t <= killedAt).length / 2;
    let recoveryMs = NaN;
    for (let t = killedAt; t < times[times.length - 1]!; t += 50) {
      if (times.filter((x) => x >= t && x < t + 1000).length >= before / 2) { recoveryMs = t - killedAt; break; }
    }
    let longestGapMs = 0;
    for (let i = 1; i < times.length; i++) if (times[i]! > killedAt - 1000) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
    const db = openLedgerDb(system.dbPath, { readonly: true });
    const chargedTwice = (db.prepare("SELECT COUNT(*) n FROM (SELECT task_id FROM cost_tracking WHERE task_id LIKE 'loss-%' GROUP BY task_id HAVING COUNT(*) > 1)").get() as { n: number }).n;
    db.close();
    if (outcome instanceof Error) console.error(`node-loss burst: ${outcome.message.slice(0, 300)}`);
    return { lost, chargedTwice, killedAt: killedAt - t0, leader, recoveryMs, longestGapMs, tasksPerSec: times.length / ((times[times.length - 1]! - t0) / 1000) };
  } finally {
    await system.close();
  }
}

export async function runClusterBenchmark(): Promise<void> {
  const single = await measure([], 'single');
  const cluster = await measure(['--cluster', '3'], 'cluster');
  const loss = await nodeLoss();
  const md = [
    '## A 3-node JetStream cluster on this machine (`koubou up --cluster 3`)',
    '',
    `Ran ${stamp()} on ${machineLine()}. The same system as above (one router, one ledger, one worker per tier with 32 slots, zero-latency simulated backends), once on one nats-server and once on three nodes with every stream, KV bucket and object store in 3 replicas; all three nodes share this machine's two cores with the actors.`,
    '',
    '| what | measured | goal |',
    '|---|---|---|',
    `| ${BURST} tasks at once, one nats-server | ${single.toFixed(0)} tasks/s | |`,
    `| ${BURST} tasks at once, 3-node cluster, 3 replicas | ${cluster.toFixed(0)} tasks/s (${(cluster / single).toFixed(2)}× the single server) | |`,
    `| node ${loss.leader} (leader of ${STREAMS.work}) killed with kill -9 ${(loss.killedAt / 1000).toFixed(1)} s into a burst of ${BURST} | ${loss.lost} lost, ${loss.chargedTwice} charged twice; completions back at half their earlier rate ${Number.isNaN(loss.recoveryMs) ? 'never within the run' : `${(loss.recoveryMs / 1000).toFixed(1)} s`} after the kill (longest gap without a completion ${(loss.longestGapMs / 1000).toFixed(1)} s); ${loss.tasksPerSec.toFixed(0)} tasks/s over the whole burst | 0 lost, 0 charged twice |`,
  ].join('\n');
  console.log(md);
  recordSection('cluster', md);
}
