/**
 * Placement over a LAN pool: 300 tasks of mixed sizes over one fast and two
 * half-speed simulated Ollama hosts (`koubou sim` over real HTTP, one task at
 * a time each), every worker a real Worker on a real nats-server.
 *  - pull: koubou's placement: the work items go on the local tier's shared
 *    lane and idle workers pull them;
 *  - round-robin: the same items dealt to the three workers in turn.
 *  - pull again, with the two LAN hosts' NATS links 20 ms slower each way.
 * Makespan (first item queued → last answer) against the lower bound
 * total work / total capacity. Work items go straight onto the queues, so both
 * runs carry the same per-task cost and only the placement differs.
 */
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Worker } from '../actors/worker/index.ts';
import { resolveBackend } from '../actors/worker/backend.ts';
import {
  connectBus, encode, ensureStreams, generateCredentials, MSG_ID, NatsServerProcess, STREAMS, SUBJECTS, type Role, type WorkItem,
} from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import type { Provider } from '../src/llm/Provider.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { startDelayRelay, type DelayRelay } from '../test/support/delayRelay.ts';
import { machineLine, recordSection, stamp } from './support.ts';

const TASKS = Number(process.env.KOUBOU_BENCH_POOL_TASKS ?? 300);
const FAST_TPS = 1800;
const HOSTS = [{ id: 'fast', tps: FAST_TPS }, { id: 'half-1', tps: FAST_TPS / 2 }, { id: 'half-2', tps: FAST_TPS / 2 }];
const NATS_CONF = new URL('../nats.conf', import.meta.url).pathname;
const LAN_LATENCY_MS = 20;

/** Output tokens of task i: mixed sizes, 30 to 400, from a fixed pseudo-random sequence. */
function sizes(): number[] {
  let x = 12345;
  return Array.from({ length: TASKS }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 30 + (x % 371);
  });
}

interface RunResult { makespanMs: number; perWorker: Record<string, number>; tokens: number }

export async function runPoolBenchmark(): Promise<void> {
  const env = generateCredentials();
  const server = await NatsServerProcess.start({ configFile: NATS_CONF, env });
  const conns: NatsConnection[] = [];
  const connect = async (role: Role) => { const nc = await connectBus({ url: server.url, role, env }); conns.push(nc); return nc; };
  const sims: SimServer[] = [];
  const relays: DelayRelay[] = [];
  try {
    const config = loadConfig({ env: {}, overrides: { nats: { work_ack_wait_seconds: 30 } } });
    const admin = await connect('router');
    await ensureStreams(admin);
    const jsm = await jetstreamManager(admin);
    for (let i = 0; i < HOSTS.length; i++) {
      await jsm.consumers.add(STREAMS.work, { durable_name: `bench_rr_${i}`, filter_subject: `koubou.work.local.rr${i}`, ack_policy: AckPolicy.Explicit, max_deliver: -1 });
    }
    for (const h of HOSTS) sims.push(await startSimServer({ tokensPerSecond: h.tps, outputTokens: (p) => Number(/\[size (\d+)\]/.exec(p)?.[1] ?? 24) }));
    const tokens = sizes();
    const capacity = HOSTS.reduce((n, h) => n + h.tps, 0);

    /** `latencyMs`: added each way on the LAN workers' NATS links, through a delaying relay. */
    const run = async (mode: 'pull' | 'round-robin', latencyMs = 0): Promise<RunResult> => {
      const done = new Map<string, number>();
      let generated = 0;
      const counts: Record<string, number> = {};
      const workers: Worker[] = [];
      for (let i = 0; i < HOSTS.length; i++) {
        const backend = await resolveBackend(config, 'local', { sim: sims[i]!.url });
        const id = `${mode}${latencyMs ? `-${latencyMs}ms` : ''}-${HOSTS[i]!.id}`;
        const remote = i > 0;
        const relay = remote && latencyMs ? await startDelayRelay({ targetHost: '127.0.0.1', targetPort: server.port, delayMs: latencyMs }) : null;
        if (relay) relays.push(relay);
        const url = relay ? `nats://127.0.0.1:${relay.port}` : server.url;
        const timed: Provider = {
          name: backend.provider.name,
          generate: async (req) => {
            const r = await backend.provider.generate(req);
            done.set(/\[task (\d+)\]/.exec(req.messages.map((m) => m.content).join('\n'))![1]!, Date.now());
            counts[id] = (counts[id] ?? 0) + 1;
            // gpt-oss reasons before it answers: the host's time goes to every completion token.
            generated += r.usage.completionTokens;
            return r;
          },
        };
        const w = new Worker({
          // Round-robin pulls consumers of its own, which nats.conf gives the local_worker role no access to.
          nc: await connectBus({ url, role: mode === 'pull' ? 'local_worker' : 'router', env }).then((nc) => { conns.push(nc); return nc; }), tier: 'local', workerId: id, provider: timed, config: backend.config, maxConcurrent: 1,
          location: remote ? 'remote' : 'local', performanceFactor: HOSTS[i]!.tps / FAST_TPS, heartbeatMs: 500,
          ...(mode === 'round-robin' ? { consumers: [`bench_rr_${i}`] } : {}),
        });
        await w.start();
        workers.push(w);
      }
      await new Promise((r) => setTimeout(r, 1500)); // heartbeats exchanged
      const js = jetstream(await connect('router'));
      const started = Date.now();
      for (let i = 0; i < TASKS; i++) {
        const taskId = `${mode}-${latencyMs}-${i}`;
        const item: WorkItem = {
          taskId, attempt: 1, tier: 'local', type: 'general', priority: 6, prompt: `[task ${i}] [size ${tokens[i]}] fix a typo`,
          files: [], reservationId: null, dispatchedAt: new Date().toISOString(),
        };
        const subject = mode === 'pull' ? SUBJECTS.work('local', 'any') : `koubou.work.local.rr${i % HOSTS.length}`;
        await js.publish(subject, encode(item), { msgID: MSG_ID.workItem(taskId, 1) });
      }
      while (done.size < TASKS) await new Promise((r) => setTimeout(r, 20));
      const makespanMs = Math.max(...done.values()) - started;
      await Promise.all(workers.map((w) => w.stop()));
      return { makespanMs, perWorker: counts, tokens: generated };
    };

    const pull = await run('pull');
    const rr = await run('round-robin');
    const far = await run('pull', LAN_LATENCY_MS);
    const lowerBoundMs = (pull.tokens / capacity) * 1000;
    const fmt = (r: RunResult) => `${(r.makespanMs / 1000).toFixed(2)} s (${(r.makespanMs / lowerBoundMs).toFixed(3)}× the lower bound; tasks per host ${Object.values(r.perWorker).join(' / ')})`;
    const md = [
      '## LAN pool placement',
      '',
      `Ran ${stamp()} on ${machineLine()}; nats-server from \`nats.conf\`. ${TASKS} tasks of 30-400 answer tokens (fixed pseudo-random sizes; with gpt-oss's reasoning, ${pull.tokens} completion tokens in all) over three simulated Ollama hosts over HTTP, one task at a time each: one at ${FAST_TPS} tokens/s and two at ${FAST_TPS / 2}. Lower bound = total completion tokens / total capacity (${capacity} tokens/s) = ${(lowerBoundMs / 1000).toFixed(2)} s.`,
      '',
      '| placement | makespan | goal |',
      '|---|---|---|',
      `| koubou (idle workers pull the shared lane, weighted by measured speed) | ${fmt(pull)} | within 1.10× of the lower bound |`,
      `| round-robin, same run | ${fmt(rr)} | |`,
      `| koubou, the two LAN hosts' NATS links +${LAN_LATENCY_MS} ms each way (a delaying TCP relay: this machine's kernel has no netem qdisc) | ${fmt(far)} | within 1.15× of the lower bound |`,
    ].join('\n');
    console.log(md);
    recordSection('pool', md);
  } finally {
    await Promise.allSettled(sims.map((s) => s.close()));
    await Promise.allSettled(relays.map((r) => r.close()));
    await Promise.allSettled(conns.map((c) => c.close()));
    await server.stop({ clean: true });
  }
}
