/**
 * Load for the gateway benchmark: OpenAI chat completions to one target (the simulator straight,
 * Portkey's gateway, koubou's), bounded in time. One client and streamed requests are timed by
 * a loop of our own (sub-millisecond, time to the first token); many clients non-streamed by
 * autocannon, whose client costs less CPU than fetch and so caps the fast targets less.
 */
import autocannon from 'autocannon';
import { percentile } from './support.ts';

export interface Target { name: string; base: string; headers: Record<string, string>; model: string }
export interface Figures { p50: number; p99: number; perSecond: number; count: number }

const PROMPT = 'fix the typo in the README';
const bodyOf = (t: Target, stream: boolean) => JSON.stringify({ model: t.model, messages: [{ role: 'user', content: PROMPT }], ...(stream ? { stream: true } : {}) });
const headersOf = (t: Target) => ({ 'content-type': 'application/json', ...t.headers });

/** One request: its latency (non-streamed) or time to the first chunk with text (streamed), in ms; `onHeaders` sees the response. */
export async function timeOne(t: Target, stream: boolean, onHeaders?: (h: Headers) => void): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${t.base}/chat/completions`, { method: 'POST', headers: headersOf(t), body: bodyOf(t, stream) });
  if (!res.ok) throw new Error(`${t.name}: ${res.status} ${await res.text()}`);
  onHeaders?.(res.headers);
  if (!stream) {
    await res.json();
    return performance.now() - t0;
  }
  const decoder = new TextDecoder();
  let seen = '';
  let first = NaN;
  for await (const chunk of res.body!) {
    seen += decoder.decode(chunk as Uint8Array, { stream: true });
    if (Number.isNaN(first) && /"content":"[^"]/.test(seen)) first = performance.now() - t0;
  }
  if (Number.isNaN(first)) throw new Error(`${t.name}: a stream without text: ${seen.slice(0, 300)}`);
  return first;
}

/** `clients` loops sending to `t` until `seconds` have passed or `max` requests were sent. */
export async function loop(t: Target, stream: boolean, clients: number, seconds: number, max = Infinity): Promise<Figures> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end && sent < max) {
      sent++;
      latencies.push(await timeOne(t, stream));
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: latencies.length / elapsed, count: latencies.length };
}

/** autocannon with `clients` connections for `seconds`, non-streamed; every answer must be a 2xx. */
export async function cannon(t: Target, clients: number, seconds: number): Promise<Figures> {
  const r = await autocannon({ url: `${t.base}/chat/completions`, method: 'POST', headers: headersOf(t), body: bodyOf(t, false), connections: clients, duration: seconds, timeout: 60 });
  if (r.non2xx || r.errors || r.timeouts) throw new Error(`${t.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts under load`);
  return { p50: r.latency.p50, p99: r.latency.p99, perSecond: r.requests.total / r.duration, count: r.requests.total };
}
