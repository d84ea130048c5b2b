/**
 * Where a koubou gateway request's time goes, one client at a time: each request's start and
 * answer as the client sees them, and between them the task's event messages as JetStream
 * stamped them (server time, ns). All on one machine, so one clock.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeTaskEvents, StreamFollower, STREAMS, SUBJECTS } from '../src/bus/index.ts';
import { timeOne, type Target } from './gatewayLoad.ts';

export interface Hop { label: string; p50: number; p90: number }

const nowMs = () => performance.timeOrigin + performance.now();
const median = (xs: number[], q = 0.5) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** `count` sequential requests to `t` (a koubou gateway); the median time between each step of the path. */
export async function profileHops(nc: NatsConnection, t: Target, count: number): Promise<Hop[]> {
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
  return hops;
}
