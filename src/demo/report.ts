/**
 * What the demo prints about each task: one row built from the task's events
 * (never its prompt: the events carry a summary that hides confidential text),
 * and the table of rows with totals.
 */
import type { TaskEventMessage } from '../bus/index.ts';

/** One task as the table shows it. */
export interface DemoRow {
  label: string;
  taskId: string;
  /** The event's promptSummary: for confidential work only its size and categories. */
  asked: string;
  tier: string;
  why: string;
  /** `gpt5_high→gpt5_medium`, or `-`. */
  fallbacks: string;
  fallbackCount: number;
  tokens: number;
  costUsd: number;
  status: string;
  expect: string;
}

const oneLine = (s: string, max: number): string => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};
const SHORT_TIER: Record<string, string> = { gpt5_high: 'high', gpt5_medium: 'medium', local: 'local' };

/**
 * The reason that decided where a task ran: its last fallback; else the
 * budget rule or the sensitivity verdict that kept it local; else its
 * difficulty (with the budget's state when the budget was critical).
 *
 * @example
 * decidingReason(events); // 'rate limited: provider reports 0 requests remaining until its reset, free in 38.2 s'
 */
export function decidingReason(events: readonly TaskEventMessage[]): string {
  const last = <T>(pred: (e: TaskEventMessage) => T | undefined | false): T | undefined => {
    for (let i = events.length - 1; i >= 0; i--) {
      const v = pred(events[i]!);
      if (v) return v;
    }
    return undefined;
  };
  const hop = events.findLastIndex((e) => e.fallback);
  if (hop >= 0) {
    // The FALLBACKS column names the tiers. A routing fallback's own reason is generic ("rate limited
    // longer than the task may wait"): the rate-limit check just before it says which limit, how long.
    const check = /^rate limited: .*$/.exec(events[hop - 1]?.reason ?? '')?.[0];
    return check ?? events[hop]!.fallback!.reason;
  }
  // Only a BudgetCheck that sent the task local decided it; the others let it pass on.
  const budgetRule = last((e) => e.state === 'BudgetCheck' && / local/.test(e.reason) && e.reason);
  if (budgetRule) return budgetRule;
  const confidential = last((e) => e.state === 'AnalyzeSensitivity' && e.sensitivity?.level === 'confidential' && e.reason);
  if (confidential) return confidential;
  const difficulty = last((e) => e.state === 'EvaluateDifficulty' && e.reason) ?? '';
  // "high (score 9: type general: +1; indicator …)" → "high difficulty (score 9)": the rest is detail.
  const short = difficulty.replace(/^(\w+) \(score (-?[\d.]+):.*$/, '$1 difficulty (score $2)');
  const critical = last((e) => e.state === 'CheckBudget' && /critical/.test(e.reason) && e.reason);
  if (!critical) return short;
  const percent = /([\d.]+%)/.exec(critical)?.[1] ?? '';
  return `${short} keeps its tier though the budget is critical (${percent} committed)`;
}

/**
 * A row from a finished task's events, oldest first.
 *
 * @example
 * const row = rowFromEvents('typo', 'local', events);
 * row.tier; // 'local'
 */
export function rowFromEvents(label: string, expect: string, events: readonly TaskEventMessage[]): DemoRow {
  const final = events.at(-1)!;
  const hops = events.filter((e) => e.fallback).map((e) => e.fallback!);
  const usage = final.result?.usage;
  return {
    label,
    taskId: final.taskId,
    asked: final.promptSummary,
    tier: final.tier ?? '-',
    why: decidingReason(events),
    fallbacks: hops.length ? [hops[0]!.from, ...hops.map((h) => h.to)].map((t) => SHORT_TIER[t] ?? t).join('→') : '-',
    fallbackCount: hops.length,
    tokens: usage ? usage.promptTokens + usage.completionTokens : 0,
    costUsd: final.result?.costUsd ?? 0,
    status: final.status === 'failed' && final.error ? `failed (${final.error.code})` : final.status,
    expect,
  };
}

/**
 * Dollars: cents from a dollar up, four decimals below (a task on a simulated
 * backend costs fractions of a cent).
 *
 * @example
 * dollars(100); // '$100.00'
 * dollars(0.0032); // '$0.0032'
 */
export const dollars = (usd: number): string => `$${usd.toFixed(Math.abs(usd) >= 1 ? 2 : 4)}`;

/**
 * The table: one line per row, columns separated by at least two spaces (and
 * no cell holds two spaces in a row or is empty, so the columns can be parsed
 * back), then the totals.
 *
 * @example
 * console.log(formatTable(rows));
 */
export function formatTable(rows: readonly DemoRow[]): string {
  const header = ['TASK', 'ASKED', 'TIER', 'WHY', 'FALLBACKS', 'TOKENS', 'COST', 'STATUS'];
  const cells = rows.map((r) => [
    r.label, oneLine(r.asked, 44), r.tier, oneLine(r.why, 80), r.fallbacks,
    r.tokens.toLocaleString('en-US'), dollars(r.costUsd), r.status,
  ].map((c) => oneLine(c, 90) || '-'));
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const lines = all.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`);
  const completed = rows.filter((r) => r.status === 'completed').length;
  const fallbacks = rows.reduce((n, r) => n + r.fallbackCount, 0);
  const tokens = rows.reduce((n, r) => n + r.tokens, 0);
  const cost = rows.reduce((n, r) => n + r.costUsd, 0);
  const perTier = new Map<string, number>();
  for (const r of rows) perTier.set(r.tier, (perTier.get(r.tier) ?? 0) + 1);
  const byTier = [...perTier].map(([t, n]) => `${t} ${n}`).join(', ');
  lines.push(
    '',
    `  TOTAL  ${rows.length} tasks (${byTier}), ${completed} completed, ${fallbacks} fallback${fallbacks === 1 ? '' : 's'}, ` +
      `${tokens.toLocaleString('en-US')} tokens, ${dollars(cost)} at OpenAI list prices (simulated: nothing was charged)`,
  );
  return lines.join('\n');
}
