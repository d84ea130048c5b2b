/**
 * Protocol 3: a worker holds its `started` report back for a moment. A fast call folds its start
 * into its outcome report (one message, one router step); a slow one reports `started` first, as
 * before. Either way the task's events pass through InProgress, so the diagram is unchanged.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decode, reportSchema, type Report } from '../src/bus/index.ts';
import { InProcessSimProvider } from '../src/llm/InProcessSimProvider.ts';
import { startSystem, uniqueId, type TestSystem } from './support/system.ts';

let sys: TestSystem;
const reports: Report[] = [];

beforeAll(async () => {
  sys = await startSystem({
    // Holds far from the calls' lengths, so a loaded machine cannot blur fast and slow.
    workers: [{ tier: 'local', holdStartMs: 3000 }, { tier: 'gpt5_medium', provider: new InProcessSimProvider({ latencyMs: 1500 }), holdStartMs: 100 }],
  });
  // Reports are JetStream messages, and core subscribers see them as they are published.
  const nc = await sys.nats.connect('router');
  nc.subscribe('koubou.report.>', { callback: (err, m) => { if (!err) reports.push(decode(reportSchema, m.data, m.subject)); } });
  await nc.flush();
});
afterAll(async () => { await sys?.stop(); });

const kindsOf = (taskId: string) => reports.filter((r) => r.taskId === taskId).map((r) => r.kind);

it('a fast call: no `started` message, its start folded into the outcome; the events still pass InProgress', async () => {
  const taskId = uniqueId('fold');
  await sys.submit({ taskId, prompt: 'fix a typo in the README' });
  expect(await sys.finalEvent(taskId)).toMatchObject({ status: 'completed', tier: 'local' });
  expect(kindsOf(taskId)).toEqual(['completed']);
  expect(reports.find((r) => r.taskId === taskId)).toMatchObject({ startedAt: expect.any(String) });
  expect((await sys.events(taskId)).map((e) => e.state)).toContain('InProgress');
});

it('a slow call: `started` first, then the outcome without a folded start', async () => {
  const taskId = uniqueId('slow');
  await sys.submit({ taskId, prompt: 'refactor this module to use dependency injection' });
  expect(await sys.finalEvent(taskId)).toMatchObject({ status: 'completed', tier: 'gpt5_medium' });
  expect(kindsOf(taskId)).toEqual(['started', 'completed']);
  expect(reports.find((r) => r.taskId === taskId && r.kind === 'completed')).not.toHaveProperty('startedAt');
  const states = (await sys.events(taskId)).map((e) => e.state);
  expect(states.indexOf('InProgress')).toBeGreaterThan(-1);
  expect(states.indexOf('InProgress')).toBeLessThan(states.indexOf('Completed'));
});
