/**
 * Where a koubou gateway request's time goes, one client at a time: each request's start and
 * answer as the client sees them, and between them the task's event messages as JetStream
 * stamped them (server time, ns). All on one machine, so one clock.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeTaskEvents, StreamFollower, STREAMS, SUBJECTS } from '../src/bus/index.ts';
import { tapBus, type Tapped } from './busTap.ts';
import { timeOne, type Target } from './gatewayLoad.ts';

export interface Hop { label: string; p50: number; p90: number }

/** Bus messages per request, by kind; JetStream writes per request, by stream (its sequence advanced). */
export interface MessageCount { total: number; deltas: number; jetStreamWrites: number; streams: { label: string; perRequest: number }[]; kinds: { label: string; perRequest: number }[] }

const nowMs = () => performance.timeOrigin + performance.now();
const median = (xs: number[], q = 0.5) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** `count` sequential requests to `t` (a koubou gateway); the median time between each step of the path. */
export async function profileHops(nc: NatsConnection, tapNc: NatsConnection, t: Target, count: number): Promise<{ hops: Hop[]; timeline: Hop[]; counted: MessageCount }> {
  const stamps = new Map<string, { at: number; label: string }[]>();
  const follower = new StreamFollower(nc, {
    stream: STREAMS.events, filter: SUBJECTS.taskEventAll, from: 'new',
    onMessage: (m) => {
      const events = decodeTaskEvents(m.data, m.subject);
      const last = events.at(-1)!;
      const label = `${[...new Set(events.map((e) => e.status))].join('+')} (${events.length} event${events.length > 1 ? 's' : ''}, last ${last.state})`;
      const list = stamps.get(last.taskId) ?? [];
      list.push({ at: m.info.timestampNanos / 1e6, label });
      stamps.set(last.taskId, list);
    },
  });
  await follower.start();
  const seqsBefore = await streamSeqs(tapNc);
  const tap = tapBus(tapNc);
  const runs: { taskId: string; start: number; end: number }[] = [];
  try {
    for (let i = 0; i < count; i++) {
      let taskId = '';
      const start = nowMs();
      await timeOne(t, false, (h) => { taskId = h.get('x-koubou-task-id') ?? ''; });
      runs.push({ taskId, start, end: nowMs() });
    }
    await new Promise((r) => setTimeout(r, 500)); // events published behind the answer
  } finally {
    await follower.stop();
  }
  const tapped = tap.stop();
  const seqsAfter = await streamSeqs(tapNc);
  // The common shape: the number of event messages most tasks had.
  const shapes = runs.map((r) => stamps.get(r.taskId)?.length ?? 0);
  const usual = median(shapes);
  const same = runs.filter((r) => stamps.get(r.taskId)?.length === usual);
  const labels = stamps.get(same[0]!.taskId)!.map((s) => s.label);
  const gaps = (f: (r: (typeof runs)[number], s: { at: number }[]) => number) => same.map((r) => f(r, stamps.get(r.taskId)!));
  const hops: Hop[] = [];
  const add = (label: string, xs: number[]) => hops.push({ label, p50: median(xs), p90: median(xs, 0.9) });
  add(`request sent → first event message: ${labels[0]}`, gaps((r, s) => s[0]!.at - r.start));
  for (let k = 1; k < usual; k++) add(`→ ${labels[k]}`, gaps((_, s) => s[k]!.at - s[k - 1]!.at));
  add('last event message → the answer received', gaps((r, s) => r.end - s[usual - 1]!.at));
  add('**whole request**', gaps((r) => r.end - r.start));
  return { hops, timeline: timelineOf(runs, tapped), counted: countOf(tapped, count, seqsBefore, seqsAfter) };
}

/**
 * Every message the requests caused, counted over the whole run (sequential requests, and the
 * records each finished behind its answer) and divided by the number of requests. Left out:
 * heartbeats (not caused by a request) and this benchmark's own event follower (its pulls and
 * their deliveries, on the submitter's inbox).
 */
function countOf(tapped: Tapped[], requests: number, seqsBefore: Map<string, number>, seqsAfter: Map<string, number>): MessageCount {
  const mine = (label: string) => label.startsWith('koubou.evt.worker.') || label.includes('_INBOX_submit') || label.startsWith('$JS.API.CONSUMER.MSG.NEXT.KOUBOU_EVENTS');
  const kinds = new Map<string, number>();
  for (const m of tapped) if (!mine(m.label)) kinds.set(m.label, (kinds.get(m.label) ?? 0) + 1);
  const per = (n: number) => Math.round((n / requests) * 10) / 10;
  const sum = (f: (label: string) => boolean) => per([...kinds].filter(([l]) => f(l)).reduce((a, [, n]) => a + n, 0));
  const streams = [...seqsAfter].map(([label, seq]) => ({ label, perRequest: per(seq - (seqsBefore.get(label) ?? 0)) })).filter((s) => s.perRequest > 0);
  return {
    total: sum(() => true),
    deltas: sum((l) => l.startsWith('koubou.stream.')),
    jetStreamWrites: per(streams.reduce((a, s) => a + s.perRequest * requests, 0)),
    streams: streams.sort((a, b) => b.perRequest - a.perRequest),
    kinds: [...kinds].map(([label, n]) => ({ label, perRequest: per(n) })).filter((k) => k.perRequest >= 0.5).sort((a, b) => b.perRequest - a.perRequest),
  };
}

/**
 * Every kind of bus message most requests caused, with its median time after the request was
 * sent: the path, hop by hop. Messages of one kind in a row count as one step (×n); a kind
 * seen again later is a step of its own (#2). A message belongs to a request when it names its
 * task or, for those naming none (acks, replies), when it came while that request (and no
 * other: one client) was in flight.
 */
function timelineOf(runs: { taskId: string; start: number; end: number }[], tapped: Tapped[]): Hop[] {
  const offsets = new Map<string, { at: number[]; n: number[] }>();
  for (const r of runs) {
    const steps: { key: string; at: number; n: number }[] = [];
    const seen = new Map<string, number>();
    for (const m of tapped) {
      if (m.at < r.start || m.at > r.end || (m.taskId !== null && m.taskId !== r.taskId)) continue;
      const last = steps.at(-1);
      if (last?.key.startsWith(`${m.label}\u0000`)) { last.n++; continue; }
      const k = (seen.get(m.label) ?? 0) + 1;
      seen.set(m.label, k);
      steps.push({ key: `${m.label}\u0000${k}`, at: m.at - r.start, n: 1 });
    }
    for (const s of steps) {
      const o = offsets.get(s.key) ?? { at: [], n: [] };
      o.at.push(s.at);
      o.n.push(s.n);
      offsets.set(s.key, o);
    }
  }
  return [...offsets]
    .filter(([, o]) => o.at.length >= 0.8 * runs.length)
    .map(([key, o]) => {
      const [label, k] = key.split('\u0000');
      const n = median(o.n);
      return { label: `${label}${n > 1 ? ` ×${n}` : ''}${k !== '1' ? ` (#${k})` : ''}`, p50: median(o.at), p90: median(o.at, 0.9) };
    })
    .sort((a, b) => a.p50 - b.p50);
}

/** Every stream's last sequence number: how many messages (KV writes included) it has stored so far. */
async function streamSeqs(nc: NatsConnection): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const seqs = new Map<string, number>();
  for await (const s of jsm.streams.list()) seqs.set(s.config.name, s.state.last_seq);
  return seqs;
}
