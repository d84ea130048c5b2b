/**
 * `koubou worker`'s backends as a person starts them: the real command as a
 * child process, against `startSimServer` over HTTP and a real nats-server.
 * A backend that is not ready stops the worker before it touches the bus.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { resolveBackend } from '../actors/worker/backend.ts';
import { encode, SUBJECTS, type Heartbeat, type Report, type WorkItem } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { InputError } from '../src/core/errors.ts';
import { startSimServer, type SimServer } from '../src/llm/sim/index.ts';
import { runKoubou } from './support/cli.ts';
import { startNats, type TestNats } from './support/nats.ts';
import { ActorProcess } from './support/processes.ts';
import { uniqueId } from './support/util.ts';

const cwd = () => mkdtempSync(join(tmpdir(), 'koubou-wb-'));
/** No key from anywhere: not the environment, not a keystore. */
const NO_KEY = { OPENAI_API_KEY: '', KOUBOU_MASTER_PASSWORD: '', KOUBOU_KEYSTORE: join(tmpdir(), 'koubou-no-such-keystore.enc') };
/** Nothing listens there: a worker that got as far as NATS would fail differently. */
const NO_NATS = 'nats://127.0.0.1:1';
const KEY = 'sk-test-backends-cli-0123456789';

let sim: SimServer;
let nats: TestNats;
let observer: NatsConnection;
const seen: { subject: string; body: any }[] = [];
const workers: ActorProcess[] = [];

beforeAll(async () => {
  sim = await startSimServer({ apiKey: KEY });
  nats = await startNats();
  await nats.setup();
  observer = await nats.connect('router');
  for (const s of [SUBJECTS.reportAll, SUBJECTS.heartbeatAll]) {
    observer.subscribe(s, { callback: (err, m) => { if (!err) seen.push({ subject: m.subject, body: m.json() }); } });
  }
  await observer.flush();
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await nats?.stop();
  await sim?.close();
});

async function until(pred: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('koubou worker backends', () => {
  it('refuses to start (exit 2) on an Ollama host without the model, naming the `ollama pull` to run', async () => {
    const bare = await startSimServer({ models: { ollama: ['llama3.1:8b'] } });
    try {
      const r = await runKoubou(['worker', '--tier', 'local', '--sim', bare.url, '--nats', NO_NATS], { cwd: cwd() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/backend not ready for local \(gpt-oss:20b\).*run `ollama pull gpt-oss:20b` there/);
    } finally {
      await bare.close();
    }
  });

  it('refuses to start (exit 2) an OpenAI tier without a key, naming both ways to provide one', async () => {
    const r = await runKoubou(['worker', '--tier', 'gpt5_high', '--nats', NO_NATS], { cwd: cwd(), env: NO_KEY });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tier gpt5_high uses OpenAI but no API key is configured: set OPENAI_API_KEY, or store it encrypted with `koubou keys set openai`/);
  });

  it('refuses a rejected key (exit 2) without ever printing it', async () => {
    const wrong = 'sk-wrong-key-abcdefghijklmnop';
    const r = await runKoubou(['worker', '--tier', 'gpt5_medium', '--openai-base-url', `${sim.url}/v1`, '--nats', NO_NATS], {
      cwd: cwd(), env: { ...NO_KEY, OPENAI_API_KEY: wrong },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rejected the API key \(401\): check OPENAI_API_KEY/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.stdout + r.stderr).not.toContain(wrong.slice(-8));
  });

  it('runs on an OpenAI-compatible URL with the key from the environment, and says where in its heartbeat', async () => {
    const id = uniqueId('wb').replace(/-/g, '_');
    const w = new ActorProcess('worker', ['worker', '--tier', 'gpt5_medium', '--id', id, '--openai-base-url', `${sim.url}/v1`], {
      ...nats.env, ...NO_KEY, OPENAI_API_KEY: KEY, NATS_URL: nats.url, KOUBOU_CONFIG: '',
    }, cwd());
    workers.push(await w.start(/pulling from/));
    expect(w.output).toContain(`worker ${id}: backend gpt5_medium (gpt-5): openai at ${sim.url}/v1`);
    expect(w.output).not.toContain(KEY);
    const completedBefore = sim.stats.completed;
    const item: WorkItem = {
      taskId: uniqueId('t'), attempt: 1, tier: 'gpt5_medium', type: 'general', priority: 5, prompt: 'write a haiku about queues',
      files: [], reservationId: 'r-test', dispatchedAt: new Date().toISOString(),
    };
    await jetstream(observer).publish(SUBJECTS.work('gpt5_medium'), encode(item), { msgID: `${item.taskId}:1` });
    await until(() => seen.some((s) => s.subject === SUBJECTS.report(item.taskId) && (s.body as Report).kind === 'completed'));
    const done = seen.find((s) => s.subject === SUBJECTS.report(item.taskId) && s.body.kind === 'completed')!.body;
    expect(done.result.text).toMatch(/^\[simulated gpt-5\] re: "write a haiku about queues"/);
    expect(sim.stats.completed).toBe(completedBefore + 1);
    const beat = seen.find((s) => s.subject === SUBJECTS.heartbeat(id))!.body as Heartbeat;
    expect(beat).toMatchObject({ endpoint: `${sim.url}/v1`, location: 'local', model: 'gpt-5' });
  }, 60_000);
});

describe('resolveBackend', () => {
  const config = loadConfig({ env: {} });

  it('makes a LAN Ollama a remote location, and a local one local', async () => {
    const lan = await resolveBackend(config, 'local', { ollama: 'http://192.168.77.10:11434' });
    expect(lan).toMatchObject({ location: 'remote', endpoint: 'http://192.168.77.10:11434', tierConfig: { provider: 'ollama', model: 'gpt-oss:20b' } });
    expect((await resolveBackend(config, 'local', { ollama: 'http://127.0.0.1:11434' })).location).toBe('local');
    expect((await resolveBackend(config, 'local', {})).location).toBe('local'); // the default http://localhost:11434
  });

  it('points LM Studio at its /v1 API and takes its model name', async () => {
    const b = await resolveBackend(config, 'local', { lmstudio: 'http://10.0.0.5:1234', model: 'openai/gpt-oss-20b' });
    expect(b.tierConfig).toMatchObject({ provider: 'lmstudio', base_url: 'http://10.0.0.5:1234/v1', model: 'openai/gpt-oss-20b' });
    expect(b.config.tiers.local.model).toBe('openai/gpt-oss-20b');
  });

  it('refuses two backends at once and a URL that is not one', async () => {
    await expect(resolveBackend(config, 'local', { ollama: 'http://a:1', sim: 'http://b:2' })).rejects.toThrow(/--ollama and --sim cannot be combined/);
    await expect(resolveBackend(config, 'local', { ollama: 'gpu-box:11434' })).rejects.toThrow(InputError);
    await expect(resolveBackend(config, 'local', { openaiBaseUrl: 'http://a/v1' })).rejects.toThrow(/--openai-base-url is for a tier whose provider is openai/);
  });
});
