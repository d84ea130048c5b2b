/**
 * `koubou cancel` and `koubou watch` as a person runs them, against the whole
 * system on a real nats-server: cancelling a task in the middle of a slow
 * generation aborts it and ends it `cancelled`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { getTask } from '../src/db/index.ts';
import { runKoubou } from './support/cli.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';
import { sleep } from './support/util.ts';

let sys: TestSystem;
let env: Record<string, string>;
beforeAll(async () => {
  sys = await startSystem({ workers: [{ tier: 'local', maxConcurrent: 1, provider: new InProcessSimProvider({ latencyMs: 60_000 }) }] });
  env = { ...sys.nats.env, NATS_URL: sys.nats.url };
});
afterAll(async () => { await sys?.stop(); });

describe('koubou cancel / watch', () => {
  it('cancels a task mid-generation, and watch shows it to the end', async () => {
    const taskId = uniqueId('c');
    await sys.submit({ taskId, prompt: 'fix a typo in the README' });
    for (let i = 0; i < 100 && !(await sys.events(taskId)).some((e) => e.state === 'InProgress'); i++) await sleep(100);

    const cancel = await runKoubou(['cancel', taskId, '--reason', 'changed my mind'], { env });
    expect(cancel.stdout).toBe(`${taskId} cancelled\n`);
    expect(cancel.code).toBe(0);

    const watch = await runKoubou(['watch', taskId], { env });
    expect(watch.code).toBe(1);
    expect(watch.stdout).toMatch(/in_progress\s+InProgress/);
    expect(watch.stdout).toMatch(/cancelled\s+Cancelled\s+changed my mind/);

    for (let i = 0; i < 50 && getTask(sys.db, taskId)?.status !== 'cancelled'; i++) await sleep(100);
    expect(getTask(sys.db, taskId)?.status).toBe('cancelled');
    // The worker was told to abort, so its slot is free well long before the 60 s generation would end.
    const next = uniqueId('c');
    await sys.submit({ taskId: next, prompt: 'fix another typo' });
    for (let i = 0; i < 50 && !(await sys.events(next)).some((e) => e.state === 'InProgress'); i++) await sleep(100);
    expect((await sys.events(next)).some((e) => e.state === 'InProgress')).toBe(true);
  }, 60_000);

  it('refuses a malformed task id with exit code 2', async () => {
    const r = await runKoubou(['cancel', 'no spaces allowed'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/task id "no spaces allowed" is not valid/);
  });
});
