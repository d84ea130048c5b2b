/**
 * `koubou up` as a benchmark's system under test: real processes (nats-server or a cluster,
 * ledger, router, workers on zero-latency simulated backends) in a fresh directory, with this
 * process as a submitter that times each task from its submission to its final event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectBus, decodeTaskEvents, loadOrCreateCredentials, publishSubmission, StreamFollower, STREAMS, SUBJECTS } from '../src/bus/index.ts';

export const PROMPTS = ['fix a typo in the README', 'rename the helper to parseConfig', 'refactor this module to use dependency injection', 'design a distributed architecture for the queue'];

export interface UpSystem {
  /** NATS URL(s) `up` printed. */
  url: string;
  env: Record<string, string>;
  cwd: string;
  dbPath: string;
  up: ChildProcess;
  output(): string;
  /** Final-event time (performance.now()) of every task seen so far. */
  done: Map<string, number>;
  /** Submits `ids` (at `ratePerSec`, or as fast as acks allow) and waits until all are final. */
  submitAll(ids: string[], ratePerSec: number | null): Promise<{ sent: Map<string, number>; t0: number }>;
  close(): Promise<void>;
}

/** `tiers` replaces the tiers' lines of the config (YAML, two spaces in), e.g. to put a tier on an outside `koubou sim`. */
export async function startUpSystem(options: { args?: string[]; env?: Record<string, string>; tiers?: string[] } = {}): Promise<UpSystem> {
  const cwd = mkdtempSync(join(tmpdir(), 'koubou-bench-'));
  writeFileSync(join(cwd, 'bench.yaml'), [
    'tiers:',
    // Provider rate limits off: this measures koubou's own overhead, not a tier's quota.
    ...(options.tiers ?? ['  gpt5_high: { rpm: null, tpm: null }', '  gpt5_medium: { rpm: null, tpm: null }']),
    'budget: { monthly_usd: 1000000 }',
  ].join('\n'));
  const dbPath = join(cwd, 'ledger.db');
  const up = spawn(process.execPath, [fileURLToPath(new URL('../bin/koubou.js', import.meta.url)), '--config', join(cwd, 'bench.yaml'), 'up', '--port', '0', '--slots', '32', ...(options.args ?? [])], {
    cwd, env: { ...process.env, KOUBOU_DB: dbPath, NATS_URL: '', KOUBOU_CONFIG: '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  up.stdout!.on('data', (d) => { out += d; });
  up.stderr!.on('data', (d) => { out += d; });
  let nc: NatsConnection | null = null;
  let follower: StreamFollower | null = null;
  const close = async () => {
    await follower?.stop();
    await nc?.close();
    if (up.exitCode === null) {
      up.kill('SIGTERM');
      await new Promise((r) => up.once('exit', r));
    }
  };
  try {
    await waitFor(() => /worker-local\] worker .* pulling/.test(out) && /routing submissions/.test(out), 90_000, () => out);
    const url = /NATS\s+(nats:\/\/\S+)/.exec(out)![1]!;
    const env = loadOrCreateCredentials(join(cwd, '.koubou/credentials.env'));
    nc = await connectBus({ url, role: 'submitter', env });
    const js = jetstream(nc);
    // Completion times come from the event stream, as any client would see them.
    const done = new Map<string, number>();
    follower = new StreamFollower(nc, {
      stream: STREAMS.events, filter: SUBJECTS.taskEventAll, from: 'new',
      onMessage: (m) => {
        for (const e of decodeTaskEvents(m.data, m.subject)) {
          if (e.status === 'completed' || e.status === 'failed') done.set(e.taskId, performance.now());
        }
      },
    });
    await follower.start();
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
        pending.push(publishSubmission(js, { taskId: id, prompt: PROMPTS[i % PROMPTS.length] }, { timeoutMs: 120_000 }));
        if (pending.length >= 256) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      await waitFor(() => ids.every((id) => done.has(id)), 300_000, () => `${ids.filter((id) => done.has(id)).length}/${ids.length} done\n${out.slice(-3000)}`);
      return { sent, t0 };
    };
    return { url, env, cwd, dbPath, up, output: () => out, done, submitAll, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`benchmark timed out: ${what().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
