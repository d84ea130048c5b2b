/**
 * The demo master's session as a tree: each subtask's tier, fallbacks, escalations, test outcome
 * and cost (with its craftsman's model calls), as the master took them back with `result`.
 */
import type { ApplyOutput, Fallback, ResultOutput } from '../mcp/toolSchemas.ts';
import { dollars } from './report.ts';

/** One subtask as the tree shows it. */
export interface TreeChild {
  label: string;
  result: ResultOutput;
  /** Its cost and its descendants' (an agent's model calls), from the ledger. */
  totalUsd: number;
}

export interface MasterTree {
  session: string;
  /** Who the master was, e.g. `codex-cli 0.171.0 (codex exec …)`. */
  master: string;
  /** The master's tool calls in order (`delegate`, `wait`, …). */
  calls: string[];
  children: TreeChild[];
  applied: ApplyOutput | null;
  /** Lines about subtasks the master did not hand out, and why. */
  notes: string[];
}

const hops = (list: readonly Fallback[]): string => (list.length ? list.map((e) => `${e.from}→${e.to}`).join(', ') : '-');

/** `delegate ×3, wait, result ×3, apply`: runs of one tool counted. */
export function callRuns(calls: readonly string[]): string {
  const runs: [string, number][] = [];
  for (const c of calls) {
    const last = runs.at(-1);
    if (last && last[0] === c) last[1]++;
    else runs.push([c, 1]);
  }
  return runs.map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
}

/**
 * @example
 * for (const line of formatMasterTree(tree)) console.log(line);
 * // MASTER demo-master-…: codex-cli 0.171.0 …
 * //   ├─ demo-master-…-1  secret  tier local  fallbacks -  escalations -  tests -  $0.0000  completed
 */
export function formatMasterTree(tree: MasterTree): string[] {
  const rows = tree.children.map(({ label, result: r, totalUsd }) => [
    r.taskId, label, `tier ${r.tier ?? '-'}`, `fallbacks ${hops(r.fallbacks)}`, `escalations ${hops(r.escalations)}`,
    `tests ${r.test ? (r.test.passed ? 'passed' : 'failed') : '-'}`, dollars(totalUsd), r.status,
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]!.length))) ?? [];
  const total = tree.children.reduce((n, c) => n + c.totalUsd, 0);
  const lines = [`MASTER ${tree.session}: ${tree.master}`, `  its tool calls: ${callRuns(tree.calls) || 'none'}`];
  tree.children.forEach(({ result: r }, i) => {
    const last = i === tree.children.length - 1 && tree.notes.length === 0;
    const branch = last ? '└─' : '├─';
    const under = last ? '   ' : '│  ';
    lines.push(`  ${branch} ${rows[i]!.map((c, j) => (j === rows[i]!.length - 1 ? c : c.padEnd(widths[j]!))).join('  ')}`);
    for (const e of r.escalations) lines.push(`  ${under}    escalated ${e.from}→${e.to}: ${e.reason}`);
    if (r.error) lines.push(`  ${under}    ${r.error.code}: ${r.error.message}`);
    for (const d of (r.diffstat ?? '').split('\n').map((l) => l.trim()).filter(Boolean)) lines.push(`  ${under}    ${d}`);
    if (tree.applied?.taskId === r.taskId) {
      lines.push(`  ${under}    ${tree.applied.applied ? `applied to the master's tree (${tree.applied.where}): ${tree.applied.files.join(', ')}` : 'nothing to apply'}`);
    }
  });
  tree.notes.forEach((note, i) => lines.push(`  ${i === tree.notes.length - 1 ? '└─' : '├─'} ${note}`));
  lines.push(`  ${tree.children.length} subtasks, ${dollars(total)} with their craftsmen's model calls (koubou costs --tree)`);
  return lines;
}
