import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Ledger, type BudgetReply } from '../actors/ledger/index.ts';
import { encode, SUBJECTS, type ReserveReply } from '../src/bus/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { currentYearMonth, getBudgetStatus, getReservation, openLedgerDb, type LedgerDb } from '../src/db/index.ts';
import { formatBudget, type StatusReport } from '../src/cli/commands/status.ts';
import { parseDurationHours } from '../src/cli/commands/ledgerClient.ts';
import { startNats, type TestNats } from './support/nats.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const LIMIT = 10;
const config = loadConfig({ env: {}, overrides: { budget: { monthly_usd: LIMIT, alert_threshold_percent: 80 } } });
const dir = mkdtempSync(join(tmpdir(), 'koubou-ledger-budget-'));
const dbPath = join(dir, 'ledger.db');
const month = currentYearMonth();
let nats: TestNats;
let db: LedgerDb;
let ledger: Ledger | null = null;
let router: NatsConnection;
const children: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startNats();
  await nats.setup();
  db = openLedgerDb(dbPath);
  ledger = new Ledger({ nc: await nats.connect('ledger'), db, config });
  await ledger.start();
  router = await nats.connect('router');
});
afterAll(async () => {
  // A failed assertion must not leave a ledger daemon behind: it would outlive this file.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await ledger?.stop();
  db?.close();
  await nats?.stop();
});

const reserve = async (reservationId: string, amountUsd: number, taskId = 'budget-task') =>
  (await router.request(SUBJECTS.budgetReserve, encode({ reservationId, taskId, tier: 'gpt5_high', amountUsd, yearMonth: month }), { timeout: 5000 })).json<ReserveReply>();

describe('ledger: budget reservations over NATS', () => {
  it('grants 40 concurrent requests only up to the monthly limit, exactly what fits', async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => reserve(`r-${i}`, 0.75)));
    const granted = replies.filter((r) => r.granted);
    // 13 × 0.75 = 9.75 fits in $10; a 14th would make 10.50.
    expect(granted).toHaveLength(13);
    expect(granted.every((r) => r.reason === 'granted')).toBe(true);
    for (const r of replies.filter((x) => !x.granted)) expect(r.reason).toBe('would exceed the monthly limit ($9.75 of $10.00 committed)');
    const status = getBudgetStatus(db, month)!;
    expect(status.reservedUsd).toBeCloseTo(9.75, 9);
    expect(status.reservedUsd).toBeLessThanOrEqual(LIMIT);
    expect(db.prepare("SELECT COUNT(*) AS n FROM budget_reservations WHERE status = 'active'").get()).toEqual({ n: 13 });
    // A retried request for a granted reservation neither fails nor reserves twice.
    const again = replies.findIndex((r) => r.granted);
    expect(await reserve(`r-${again}`, 0.75)).toEqual({ granted: true, reason: 'granted' });
    expect(getBudgetStatus(db, month)!.reservedUsd).toBeCloseTo(9.75, 9);
  });

  it('releases a reservation once, never revives it, and its money can be reserved again', async () => {
    const id = db.prepare<[], { reservation_id: string }>("SELECT reservation_id FROM budget_reservations WHERE status = 'active' LIMIT 1").get()!.reservation_id;
    const release = async () => (await router.request(SUBJECTS.budgetRelease, encode({ reservationId: id }), { timeout: 3000 })).json();
    expect(await release()).toEqual({ released: true });
    expect(await release()).toEqual({ released: false });
    expect(await reserve(id, 0.75)).toEqual({ granted: false, reason: 'reservation was released' });
    expect(await reserve('r-after-release', 0.75)).toEqual({ granted: true, reason: 'granted' });
    expect(await reserve('r-one-too-many', 0.75)).toMatchObject({ granted: false });
  });

  it('a usage settles its reservation and the budget query shows spent and reserved', async () => {
    await jetstream(router).publish(SUBJECTS.taskEvent('budget-task'), encode({
      taskId: 'budget-task', seq: 1, at: new Date().toISOString(), status: 'in_progress', state: 'InProgress', reason: 'running',
      tier: 'gpt5_high', attempt: 1, type: 'architecture', priority: 5, sensitivity: { level: 'public', categories: [] },
      difficulty: { level: 'high', score: 4, tokens: 2000 }, promptSummary: 'design', workerId: 'w', reservationId: 'r-after-release', error: null,
    }));
    await jetstream(router).publish(SUBJECTS.usage, encode({
      usageId: 'budget-usage-1', taskId: 'budget-task', attempt: 1, workerId: 'w', tier: 'gpt5_high', model: 'gpt-5',
      promptTokens: 2000, cachedPromptTokens: 0, completionTokens: 1000, reasoningTokens: 600, costUsd: 0.5,
      reservationId: 'r-after-release', at: new Date().toISOString(),
    }), { msgID: 'budget-usage-1' });
    const deadline = Date.now() + 5000;
    while (getReservation(db, 'r-after-release')?.status !== 'settled' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(getReservation(db, 'r-after-release')).toMatchObject({ status: 'settled', actualUsd: 0.5 });
    const budget = (await router.request(SUBJECTS.ledgerQuery('budget'), encode({}), { timeout: 3000 })).json<BudgetReply>();
    expect(budget).toMatchObject({ yearMonth: month, limitUsd: LIMIT, alertThresholdPercent: 80 });
    expect(budget.spentUsd).toBeCloseTo(0.5, 9);
    expect(budget.reservedUsd).toBeCloseTo(9.0, 9);
    expect(formatBudget(budget)).toMatch(/\$0\.50 spent \+ \$9\.00 reserved of \$10\.00 \(95\.0 %\), alert at 80 %\s+ALERT$/);
    expect(formatBudget({ ...budget, reservedUsd: 0 })).not.toMatch(/ALERT/);
  });

  it('a task\'s end releases a reservation its router never heard back about, and a reserve arriving after the end is refused', async () => {
    // The router's request timed out, so the task went on without it: its final event names no reservation.
    expect(await reserve('late-1', 0.25, 'late-task')).toEqual({ granted: true, reason: 'granted' });
    await jetstream(router).publish(SUBJECTS.taskEvent('late-task'), encode({
      taskId: 'late-task', seq: 1, at: new Date().toISOString(), status: 'completed', state: 'Completed', reason: 'done',
      tier: 'local', attempt: 1, type: 'code_review', priority: 5, sensitivity: { level: 'public', categories: [] },
      difficulty: { level: 'low', score: 1, tokens: 20 }, promptSummary: 'late', workerId: 'w', reservationId: null, error: null,
    }));
    const deadline = Date.now() + 5000;
    while (getReservation(db, 'late-1')?.status !== 'released' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(getReservation(db, 'late-1')?.status).toBe('released');
    // The same request, sent on late after a reconnect, would hold money that nothing releases.
    expect(await reserve('late-2', 0.25, 'late-task')).toEqual({ granted: false, reason: 'task late-task has already ended' });
    expect(getReservation(db, 'late-2')).toBeNull();
    expect(getReservation(db, 'r-after-release')?.status).toBe('settled');
  });
});

/** The real commands as child processes: bin/koubou.js once program.ts registers them, else the same program plus them. */
function koubouEntry(): string[] {
  const program = readFileSync(join(REPO, 'src/cli/program.ts'), 'utf8');
  if (['registerLedger', 'registerStatus', 'registerCosts'].every((r) => program.includes(r))) return [join(REPO, 'bin/koubou.js')];
  const script = join(dir, 'koubou-with-ledger.ts');
  writeFileSync(script, `
import { CommanderError } from 'commander';
import { buildProgram } from '${REPO}src/cli/program.ts';
import { registerLedger } from '${REPO}src/cli/commands/ledger.ts';
import { registerStatus } from '${REPO}src/cli/commands/status.ts';
import { registerCosts } from '${REPO}src/cli/commands/costs.ts';
const program = await buildProgram();
registerLedger(program); registerStatus(program); registerCosts(program);
try { await program.parseAsync(process.argv); }
catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  process.stderr.write('koubou: ' + e.message + '\\n');
  process.exitCode = e.name === 'InputError' ? 2 : 1;
}
`);
  return [join(REPO, 'bin/run-ts.js'), script];
}

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }>; stderr: () => string } {
  const child = spawn(process.execPath, [...koubouEntry(), ...args], {
    cwd: dir, env: { ...process.env, ...nats.env, NATS_URL: nats.url, KOUBOU_CONFIG: '', KOUBOU_MONTHLY_BUDGET_USD: String(LIMIT) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
  return { child, done, stderr: () => stderr };
}
const run = (args: string[]) => start(args).done;

describe('koubou ledger / status / costs (child processes)', () => {
  it('parses --since durations', () => {
    expect(parseDurationHours('30m')).toBeCloseTo(0.5, 9);
    expect(parseDurationHours('24h')).toBe(24);
    expect(parseDurationHours('7d')).toBe(168);
    expect(() => parseDurationHours('7 weeks')).toThrow(/--since "7 weeks"/);
    expect(() => parseDurationHours('0h')).toThrow(/--since/);
  });

  it('runs the ledger command, answers status and costs from it, and stops cleanly on SIGTERM', async () => {
    await ledger!.stop();
    ledger = null;
    const daemon = start(['ledger', '--db', dbPath]);
    const deadline = Date.now() + 20_000;
    while (!/serving budget on/.test(daemon.stderr()) && daemon.child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(daemon.stderr()).toMatch(new RegExp(`ledger: writing ${dbPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(schema v\\d+\\), serving budget on nats://127\\.0\\.0\\.1:\\d+`));

    // In parallel: each child pays tsx's start-up.
    const [status, human, costs, bad] = await Promise.all([
      run(['status', '--json']), run(['status']), run(['costs', '--since', '7d', '--json']), run(['costs', '--since', '5x']),
    ]);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.budget).toMatchObject({ yearMonth: month, limitUsd: LIMIT });
    expect(report.budget.reservedUsd).toBeCloseTo(9.0, 9);
    expect(report.queues).toEqual({ gpt5_high: 0, gpt5_medium: 0, local: 0 });
    expect(report.tasksByStatus.in_progress).toBe(1);
    expect(report.cost24h).toMatchObject({ requests: 1, avgTokens: 3000 });

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Queues\n\s+TIER\s+WAITING\n\s+gpt5_high\s+0/);
    expect(human.stdout).toMatch(/in_progress\s+1/);
    expect(human.stdout).toMatch(/ALERT/);

    expect(costs.code).toBe(0);
    expect(JSON.parse(costs.stdout)).toMatchObject({ sinceHours: 168, totalUsd: 0.5, requests: 1, byTierModel: [{ tier: 'gpt5_high', model: 'gpt-5', costUsd: 0.5 }] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since "5x" is not a duration/);

    daemon.child.kill('SIGTERM');
    const ended = await daemon.done;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toMatch(/ledger: stopped/);

    const none = await run(['status']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(new RegExp(`no ledger answered on ${nats.url.replace(/\./g, '\\.')} \\(is \`koubou up\` running\\?\\)`));
  }, 90_000);
});
