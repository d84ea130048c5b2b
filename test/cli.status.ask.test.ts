/**
 * `koubou status` and `koubou watch` show the user's ask, not the client's wrapper: real requests
 * captured from Codex CLI and Qwen Code (system prompt, context blocks and all) sent over HTTP to a
 * real gateway in front of the whole system (real nats-server, SQLite ledger, router, workers),
 * then the real CLI run against it.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, keyDigest } from '../actors/gateway/index.ts';
import type { StatusReport } from '../src/cli/commands/status.ts';
import { formatRecentTasks, terminalColumns } from '../src/cli/recentTasks.ts';
import { getTask } from '../src/db/index.ts';
import { runKoubou } from './support/cli.ts';
import { capturedSession, type CapturedRequest } from './support/clientFixtures.ts';
import { startSystem, type TestSystem } from './support/system.ts';
import { until } from './support/util.ts';

const KEY = 'kb-test-status-ask';
/** The asks the captures were made with (data/clients/README.md). */
const TRIVIAL = 'fix a typo in README.md';
const MEDIUM = 'Add a /health endpoint to the orders API that returns the service version and the database status, with a unit test.';

let sys: TestSystem;
let gateway: Gateway;
let gatewayNc: NatsConnection;
let baseUrl: string;

beforeAll(async () => {
  sys = await startSystem();
  gatewayNc = await sys.nats.connect('gateway');
  gateway = new Gateway({ nc: gatewayNc, doorKey: sys.nats.env.KOUBOU_DOOR_KEY!, keyDigests: [keyDigest(KEY)], port: 0 });
  baseUrl = (await gateway.start()).url;
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
  await gatewayNc?.close();
  await sys?.stop();
});

/** Sends a captured request as its client sent it (streamed), and waits until the ledger has its task's final state. */
async function send(request: CapturedRequest): Promise<string> {
  const res = await fetch(`${baseUrl}${request.path}`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(request.body),
  });
  const body = await res.text();
  expect(res.status, body).toBe(200);
  const taskId = res.headers.get('x-koubou-task-id')!;
  expect(taskId).toBeTruthy();
  await sys.finalEvent(taskId);
  await until(() => getTask(sys.db, taskId)?.status === 'completed');
  return taskId;
}

const cli = (args: string[], env: Record<string, string> = {}) =>
  runKoubou(args, { env: { ...sys.nats.env, NATS_URL: sys.nats.url, ...env } });

describe('the ask, shown', () => {
  it('koubou watch and koubou status show the ask of a gateway task sent in a client\'s wrapper, not its system prompt', async () => {
    const codex = await send(capturedSession('codex', 'trivial')[0]!);
    const qwen = await send(capturedSession('qwen-code', 'medium')[0]!);

    for (const [taskId, ask] of [[codex, TRIVIAL], [qwen, MEDIUM]] as const) {
      const watched = await cli(['watch', taskId]);
      expect(watched.code, watched.stderr).toBe(0);
      const received = watched.stdout.split('\n').find((l) => / ReceiveTask /.test(l));
      expect(received).toMatch(new RegExp(`: ${ask.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`));
      // The client's own text stays out (the routing reasons name the blocks taken out, not their text).
      expect(watched.stdout).not.toMatch(/You are|<environment_context>\n|<system-reminder>\n/);
    }

    const json = await cli(['status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as StatusReport;
    // Newest first.
    expect(report.recentTasks!.slice(0, 2)).toEqual([
      expect.objectContaining({ taskId: qwen, status: 'completed', tier: 'gpt5_medium', askSummary: MEDIUM }),
      expect.objectContaining({ taskId: codex, status: 'completed', tier: 'local', askSummary: TRIVIAL }),
    ]);

    // The human view: one line per task, the ask cut to the terminal's width.
    const human = await cli(['status'], { COLUMNS: '100' });
    expect(human.code, human.stderr).toBe(0);
    const section = human.stdout.split('Recent tasks (newest first)\n')[1]!.split('\n\n')[0]!.split('\n');
    expect(section[0]).toMatch(/^ {2}TASK\s+STATUS\s+TIER\s+COST\s+ASK$/);
    const line = (taskId: string) => section.find((l) => l.includes(taskId))!;
    expect(line(codex)).toMatch(new RegExp(`^ {2}${codex}\\s+completed\\s+local\\s+\\$0\\.00\\s+${TRIVIAL}$`));
    expect(line(qwen)).toMatch(new RegExp(`^ {2}${qwen}\\s+completed\\s+gpt5_medium\\s+\\$\\S+\\s+Add a /health endpoint.*…$`));
    for (const l of section) expect(l.length).toBeLessThanOrEqual(100);
    expect(human.stdout).not.toMatch(/You are/);
  }, 120_000);
});

describe('the recent tasks table', () => {
  const task = { taskId: 't-1', status: 'completed' as const, tier: 'local', actualCost: 0, createdAt: '2026-12-07 10:00:00' };

  it('prints an ask on one line, with no control characters, and cuts it to the width', () => {
    const text = formatRecentTasks([{ ...task, askSummary: 'fix the\n\u001b[31mred\u0007 banner in the header of every page of the site' }], 60);
    const [header, row] = text.split('\n');
    expect(header).toBe('  TASK  STATUS     TIER   COST   ASK');
    expect(row).toBe('  t-1   completed  local  $0.00  fix the [31mred banner in …');
    expect(row!.length).toBe(60);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('says when there is nothing to list, and when the ledger is too old to list anything', () => {
    expect(formatRecentTasks([], 80)).toBe('  none in the last 24 h');
    expect(formatRecentTasks(undefined, 80)).toBe('  unknown (a ledger older than migration 11)');
    expect(formatRecentTasks([{ ...task, tier: null, actualCost: null, askSummary: null }], 80)).toMatch(/t-1\s+completed\s+-\s+-\s+\(not recorded\)$/);
  });

  it('takes the width from the terminal, else COLUMNS, else 120', () => {
    expect(terminalColumns({ columns: 90 } as NodeJS.WriteStream, { COLUMNS: '70' })).toBe(90);
    expect(terminalColumns({} as NodeJS.WriteStream, { COLUMNS: '70' })).toBe(70);
    expect(terminalColumns({} as NodeJS.WriteStream, { COLUMNS: 'wide' })).toBe(120);
  });
});
