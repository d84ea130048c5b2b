/** `koubou status`'s list of recent tasks: what each asked, cut to the terminal's width. */
import { usd } from '../core/format.ts';
import type { RecentTask } from '../db/replies.ts';
import { table } from './commands/ledgerClient.ts';
import { oneLine } from './oneLine.ts';

/** Width assumed when the output is not a terminal (a pipe, a file, a test). */
export const DEFAULT_COLUMNS = 120;
/** An ask never gets fewer columns than this, however narrow the terminal. */
const MIN_ASK = 12;
const INDENT = '  ';
const GAP = 2;

/**
 * The terminal's width: the terminal's own when stdout is one, else `COLUMNS` (as shells set it),
 * else DEFAULT_COLUMNS.
 *
 * @example terminalColumns({ columns: undefined } as NodeJS.WriteStream, { COLUMNS: '80' }) // 80
 */
export function terminalColumns(out: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number.parseInt(env.COLUMNS ?? '', 10);
  return out.columns || (fromEnv > 0 ? fromEnv : DEFAULT_COLUMNS);
}

/** `text` in at most `width` characters, an ellipsis marking a cut. */
function fitTo(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * The recent tasks as a table whose last column, the ask, is cut so that each line fits `columns`.
 *
 * @example
 * formatRecentTasks([{ taskId: 't1', status: 'completed', tier: 'local', actualCost: 0, askSummary: 'fix a typo', createdAt: '…' }], 80);
 * // '  TASK  STATUS     TIER   COST  ASK\n  t1    completed  local  $0    fix a typo'
 */
export function formatRecentTasks(tasks: readonly RecentTask[] | undefined, columns = DEFAULT_COLUMNS): string {
  if (!tasks) return '  unknown (a ledger older than migration 11)';
  if (tasks.length === 0) return '  none in the last 24 h';
  const header = ['TASK', 'STATUS', 'TIER', 'COST', 'ASK'];
  const rows = tasks.map((t) => [t.taskId, t.status, t.tier ?? '-', t.actualCost === null ? '-' : usd(t.actualCost)]);
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const askWidth = Math.max(MIN_ASK, columns - INDENT.length - widths.reduce((n, w) => n + w + GAP, 0));
  return table(header, tasks.map((t, i) => [...rows[i]!, fitTo(oneLine(t.askSummary ?? '(not recorded)'), askWidth)]), INDENT);
}
