/**
 * Drives the demo's sample tasks through a running system, as any client
 * would: submissions on `koubou.task.submit`, each task followed on its event
 * stream to its final state.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LedgerClient, type TaskEventMessage, publishSubmission } from '../bus/index.ts';
import { followTask } from '../cli/followTask.ts';
import { KoubouError } from '../core/errors.ts';
import { currentYearMonth } from '../db/index.ts';
import { dollars, rowFromEvents, type DemoRow } from './report.ts';
import type { DemoPhase, DemoSample } from './samples.ts';

export interface RunDemoOptions {
  /** Connections as `submitter` (tasks, events, ledger queries) and `router` (the budget hold). */
  submitter: NatsConnection;
  router: NatsConnection;
  phases: DemoPhase[];
  print: (line: string) => void;
  /** Ends the run early (Ctrl-C): tasks still running are left to the system. */
  signal?: AbortSignal;
  /** How long one task may take before the demo stops waiting for it. Default 60 s. */
  taskTimeoutMs?: number;
}

/**
 * Runs each phase in turn (its tasks at once) and returns one row per task.
 *
 * @example
 * const rows = await runDemo({ submitter, router, phases: demoPhases(), print: console.log });
 * console.log(formatTable(rows));
 */
export async function runDemo(options: RunDemoOptions): Promise<DemoRow[]> {
  const runId = Date.now().toString(36);
  const rows: DemoRow[] = [];
  for (const phase of options.phases) {
    if (options.signal?.aborted) break;
    options.print(`- ${phase.intro}`);
    const release = phase.budgetCritical ? await holdBudget(options, runId) : null;
    try {
      const done = await Promise.all(phase.samples.map((s) => runSample(options, s, `demo-${phase.name}-${slug(s.label)}-${runId}`)));
      rows.push(...done);
    } finally {
      await release?.();
    }
  }
  return rows;
}

async function runSample(options: RunDemoOptions, sample: DemoSample, taskId: string): Promise<DemoRow> {
  const task = { taskId, prompt: sample.prompt, files: sample.files ?? [] };
  await publishSubmission(jetstream(options.submitter), task);
  const events: TaskEventMessage[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), options.taskTimeoutMs ?? 60_000);
  const signal = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal;
  try {
    const final = await followTask(options.submitter, taskId, { deliver: 'all', onEvent: (e) => events.push(e), signal });
    if (!final || events.length === 0) return unfinished(sample, taskId, events);
  } finally {
    clearTimeout(timer);
  }
  const row = rowFromEvents(sample.label, sample.expect, events);
  const hops = row.fallbackCount ? ` via ${row.fallbacks}` : '';
  options.print(`    ${row.label}: ${row.status} on ${row.tier}${hops}`);
  return row;
}

function unfinished(sample: DemoSample, taskId: string, events: TaskEventMessage[]): DemoRow {
  const row = events.length ? rowFromEvents(sample.label, sample.expect, events) : {
    label: sample.label, taskId, asked: '-', tier: '-', why: 'no event yet', fallbacks: '-', fallbackCount: 0,
    tokens: 0, costUsd: 0, status: '', expect: sample.expect,
  };
  return { ...row, status: 'not finished' };
}

/**
 * Reserves enough of the month that the budget is critical (5 points past its
 * alert threshold), as tasks in flight would: nothing is spent, and the
 * returned function gives it back. A reservation rather than a fake charge, so
 * the ledger's costs stay true.
 */
async function holdBudget(options: RunDemoOptions, runId: string): Promise<() => Promise<void>> {
  // Asked as the submitter (the month) and as the router (the reservation), as each is allowed to.
  const asSubmitter = new LedgerClient(options.submitter, { timeoutMs: 5000 });
  const asRouter = new LedgerClient(options.router, { timeoutMs: 5000 });
  const b = await asSubmitter.budget();
  const target = (b.limitUsd * (b.alertThresholdPercent + 5)) / 100;
  const amountUsd = Math.max(0, Math.round((target - b.spentUsd - b.reservedUsd) * 1e6) / 1e6);
  const reservationId = `demo-budget-hold-${runId}`;
  const hold = await asRouter.reserve({
    reservationId, taskId: reservationId, tier: 'gpt5_high', amountUsd, yearMonth: b.yearMonth || currentYearMonth(),
  });
  if (!hold.granted) throw new KoubouError('DEMO_FAILED', `the ledger refused the demo's budget hold: ${hold.reason}`);
  options.print(`    (holding ${dollars(amountUsd)} of the month's ${dollars(b.limitUsd)} as if other tasks were in flight; released after this step)`);
  return async () => {
    await asRouter.release(reservationId).catch(() => {});
  };
}

const slug = (label: string): string => label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
