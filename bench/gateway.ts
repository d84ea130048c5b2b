/**
 * The gateway against a peer, in one run on one machine (loopback only, bounded in time):
 * the same OpenAI chat completions sent
 *  - straight to a zero-latency `koubou sim` (the baseline),
 *  - through Portkey's open-source gateway (npm `@portkey-ai/gateway`) to that simulator, and
 *  - through koubou's gateway on a `koubou up` system (its own processes: nats-server, ledger,
 *    router, workers, gateway) whose gpt5_medium tier is a second zero-latency `koubou sim`;
 * at 1 and 100 clients, non-streamed and streamed (time to the first token), with the ratios
 * koubou/Portkey; then where koubou's time goes at one client (bench/gatewayHops.ts).
 */
import { cpus, loadavg } from 'node:os';
import { connectBus } from '../src/bus/index.ts';
import { cpuSpent, cpuTimes } from './processCpu.ts';
import { startPortkey, startSimProcess, type ChildServer } from './childServer.ts';
import { profileHops, type Hop, type MessageCount } from './gatewayHops.ts';
import { cannon, loop, type Figures, type Target } from './gatewayLoad.ts';
import { machineLine, recordSection, stamp } from './support.ts';
import { startUpSystem, waitFor, type UpSystem } from './upSystem.ts';

const KEY = 'kb-bench-gateway';
const MANY = 100;
const SECONDS = Number(process.env.KOUBOU_BENCH_GATEWAY_SECONDS ?? 6);
const HOP_REQUESTS = 100;

type Phase = 'one' | 'oneStream' | 'many' | 'manyStream';
const PHASES: Record<Phase, (t: Target) => Promise<Figures>> = {
  one: (t) => loop(t, false, 1, SECONDS, 1000),
  oneStream: (t) => loop(t, true, 1, SECONDS, 1000),
  many: (t) => cannon(t, MANY, SECONDS),
  manyStream: (t) => loop(t, true, MANY, SECONDS),
};

export async function runGatewayBenchmark(): Promise<void> {
  const servers: ChildServer[] = [];
  let up: UpSystem | null = null;
  try {
    const simA = await startSimProcess();
    servers.push(simA);
    const simB = await startSimProcess();
    servers.push(simB);
    const portkey = await startPortkey();
    servers.push(portkey);
    up = await startUpSystem({
      args: ['--gateway-port', '0', '--dashboard-port', '0'],
      env: { KOUBOU_GATEWAY_KEYS: KEY },
      tiers: ['  gpt5_high: { rpm: null, tpm: null }', `  gpt5_medium: { provider: sim, base_url: "${simB.address}", model: gpt-5, rpm: null, tpm: null }`],
    });
    const system = up;
    await waitFor(() => /gateway: (http:\/\/\S+\/v1)/.test(system.output()), 60_000, () => system.output());
    const gatewayUrl = /gateway: (http:\/\/\S+\/v1)/.exec(system.output())![1]!;
    const targets: Target[] = [
      { name: 'straight', base: simA.address, headers: { authorization: 'Bearer sim' }, model: 'gpt-5' },
      { name: 'portkey', base: portkey.address, headers: { authorization: 'Bearer sim', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': simA.address }, model: 'gpt-5' },
      { name: 'koubou', base: gatewayUrl, headers: { authorization: `Bearer ${KEY}` }, model: 'koubou/gpt5_medium' },
    ];
    for (const t of targets) await loop(t, false, 10, 2); // warm-up
    const loadBefore = loadavg()[0]!;
    // Phase by phase, each target in turn, so the other load on the machine falls on all three alike.
    const figures = {} as Record<Phase, Record<string, Figures>>;
    /** CPU time per request of each process while koubou served 100 clients. */
    let cpu: { name: string; msPerRequest: number }[] = [];
    for (const phase of Object.keys(PHASES) as Phase[]) {
      figures[phase] = {};
      for (const t of targets) {
        const before = phase === 'many' && t.name === 'koubou' ? cpuTimes(system.up.pid!) : null;
        figures[phase][t.name] = await PHASES[phase](t);
        if (before) cpu = cpuSpent(before, cpuTimes(system.up.pid!)).map(([name, seconds]) => ({ name, msPerRequest: (seconds * 1000) / figures[phase][t.name]!.count }));
        console.log(phase, t.name, figures[phase][t.name]);
      }
    }
    const nc = await connectBus({ url: system.url, role: 'submitter', env: system.env });
    const tapNc = await connectBus({ url: system.url, role: 'router', env: system.env });
    let profile: { hops: Hop[]; timeline: Hop[]; counted: MessageCount };
    try {
      profile = await profileHops(nc, tapNc, targets[2]!, HOP_REQUESTS);
    } finally {
      await nc.close();
      await tapNc.close();
    }
    const md = report(figures, profile.hops, profile.timeline, profile.counted, [loadBefore, loadavg()[0]!], cpu);
    recordSection('gateway', md);
    console.log(md);
  } finally {
    await up?.close();
    for (const s of servers.reverse()) await s.stop().catch(() => {});
  }
}

function report(f: Record<Phase, Record<string, Figures>>, hops: Hop[], timeline: Hop[], counted: MessageCount, load: [number, number], cpu: { name: string; msPerRequest: number }[]): string {
  const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
  const row = (name: string, label: string) => {
    const g = (p: Phase) => f[p][name]!;
    return `| ${label} | ${ms(g('one').p50)} / ${ms(g('one').p99)} | ${ms(g('oneStream').p50)} / ${ms(g('oneStream').p99)} | ${g('many').perSecond.toFixed(0)} | ${ms(g('many').p50)} / ${ms(g('many').p99)} | ${g('manyStream').perSecond.toFixed(0)} | ${ms(g('manyStream').p50)} / ${ms(g('manyStream').p99)} |`;
  };
  const over = (name: string, p: Phase, q: 'p50' | 'p99') => f[p][name]![q] - f[p].straight![q];
  const ratio = (p: Phase, k: keyof Figures) => (f[p].koubou![k] / f[p].portkey![k]).toFixed(1);
  return [
    '## Gateway against a peer (`npm run bench gateway`)',
    '',
    `${stamp()}, ${machineLine()}. **Load average ${load[0].toFixed(1)} at the start of the measurements and ${load[1].toFixed(1)} at the end, on ${cpus().length} cores shared with other work: the absolute figures move with it; the ratios, measured in the same run phase by phase, are what to read.**`,
    `Each target in turn, ${SECONDS} s per measurement, loopback only. Backend: a zero-latency \`koubou sim\` process behind each gateway. Portkey: \`@portkey-ai/gateway\` 1.15.2 (headless, provider \`openai\` with \`x-portkey-custom-host\` the simulator; a fetch shim works around its streaming bug on Node, Portkey-AI/gateway#1389). koubou: \`koubou up\` (nats-server, ledger, router, workers, gateway as processes), model \`koubou/gpt5_medium\` (every request a task, on the interactive path: routed by the task machine in the gateway, reserved from its budget slice, called from the gateway, its events and charge stored in JetStream before the answer; docs/operations.md). One client and streams timed by a fetch loop; ${MANY} clients non-streamed by autocannon (whole-millisecond latencies).`,
    '',
    `| | 1 client p50 / p99 (ms) | 1 client, streamed: first token p50 / p99 (ms) | ${MANY} clients req/s | ${MANY} clients p50 / p99 (ms) | ${MANY} clients streamed req/s | ${MANY} clients first token p50 / p99 (ms) |`,
    '|---|---|---|---|---|---|---|',
    row('straight', 'the backend, straight'),
    row('portkey', 'Portkey\'s gateway'),
    row('koubou', 'koubou\'s gateway'),
    '',
    `Overhead over the backend at 1 client, p50 / p99: Portkey ${ms(over('portkey', 'one', 'p50'))} / ${ms(over('portkey', 'one', 'p99'))} ms, koubou ${ms(over('koubou', 'one', 'p50'))} / ${ms(over('koubou', 'one', 'p99'))} ms; first token: Portkey +${ms(over('portkey', 'oneStream', 'p50'))} ms, koubou +${ms(over('koubou', 'oneStream', 'p50'))} ms.`,
    `Ratios koubou/Portkey: 1-client p50 ×${ratio('one', 'p50')}, p99 ×${ratio('one', 'p99')}; first token p50 ×${ratio('oneStream', 'p50')}; ${MANY}-client req/s ×${ratio('many', 'perSecond')} (goal ≥ 2), p50 ×${ratio('many', 'p50')}, p99 ×${ratio('many', 'p99')}; ${MANY}-client streamed req/s ×${ratio('manyStream', 'perSecond')}.`,
    '',
    `CPU time per request while koubou served ${MANY} clients (user + system from /proc, each process with its threads; \`submitter\` is this benchmark's own process, its load generator included): ${cpu.filter((c) => c.msPerRequest >= 0.01).map((c) => `${c.name} ${c.msPerRequest.toFixed(2)} ms`).join(', ')}; ${cpu.filter((c) => c.name !== 'submitter').reduce((a, c) => a + c.msPerRequest, 0).toFixed(2)} ms in all without the benchmark's own, where 1,000 requests a second on ${cpus().length} cores allow ${cpus().length} ms.`,
    '',
    `Where koubou's time goes at 1 client (${HOP_REQUESTS} sequential requests, median and 90th percentile; event messages stamped by JetStream, the client's clock at both ends, one machine; on the interactive path a task's events are all sent when it ends, just before its answer):`,
    '',
    '| step | p50 (ms) | p90 (ms) |',
    '|---|---|---|',
    ...hops.map((h) => `| ${h.label} | ${ms(h.p50)} | ${ms(h.p90)} |`),
    '',
    'The same requests hop by hop: every kind of bus message most of them caused, as a subscriber to `>` saw it, in order of its median time after the request was sent (the n-th of a kind counted apart). A kind seen again (#2) just after a reply saying it was stored is most likely the stream\'s consumer receiving it; acks in the first milliseconds are the previous request\'s records finishing behind its answer:',
    '',
    '| bus message | after the request was sent, p50 (ms) | p90 (ms) |',
    '|---|---|---|',
    ...timeline.map((h) => `| \`${h.label}\` | ${ms(h.p50)} | ${ms(h.p90)} |`),
    '',
    `Bus messages per request, counted over the same ${HOP_REQUESTS} requests (all a subscriber to \`>\` saw, records behind each answer included, divided by the requests; heartbeats and this benchmark's own event follower left out; a message stored in a stream may be seen again as its consumer receives it): **${counted.total}**, of them ${counted.deltas} token deltas (\`koubou.stream\`). **JetStream writes per request: ${counted.jetStreamWrites}** (how far each stream's sequence advanced over the run): ${counted.streams.map((s) => `${s.label} ${s.perRequest}`).join(', ')}. By kind (at least one every other request):`,
    '',
    '| bus message | per request |',
    '|---|---|',
    ...counted.kinds.map((k) => `| \`${k.label}\` | ${k.perRequest} |`),
  ].join('\n');
}
