import { DIFFICULTY_LEVELS } from '../../core/types.ts';
import type { EvalRun } from './evaluateRouting.ts';

const pct = (n: number, of: number): string => (of === 0 ? '—' : `${((100 * n) / of).toFixed(1)}%`);
const usd = (n: number): string => `$${n.toFixed(4)}`;
const oneLine = (s: string, max = 100): string => {
  const l = s.replace(/\s+/g, ' ').trim();
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
};

/**
 * A run as text: agreement, the confusion matrix (rows: expected, columns: routed), the cost
 * of the routed set against always-high, always-medium and every ask on its expected level's tier,
 * and every miss with its rules.
 *
 * @example
 * process.stdout.write(formatEvalRun(run));
 */
export function formatEvalRun(run: EvalRun, { misses = true } = {}): string {
  const lines = [
    `wrapper ${run.wrapper}: agreement ${run.agreed}/${run.cases} (${pct(run.agreed, run.cases)}); high asks routed low: ${run.highToLow}`,
    '',
    `  expected \\ routed  ${DIFFICULTY_LEVELS.map((l) => l.padStart(7)).join('')}`,
    ...DIFFICULTY_LEVELS.map((e) => `  ${e.padEnd(18)}${DIFFICULTY_LEVELS.map((g) => String(run.confusion[e][g]).padStart(7)).join('')}`),
    '',
    `  cost (config prices, expected tokens): routed ${usd(run.cost.routed)}, always high ${usd(run.cost.alwaysHigh)} `
      + `(routed = ${pct(run.cost.routed, run.cost.alwaysHigh)}), always medium ${usd(run.cost.alwaysMedium)} (routed = ${pct(run.cost.routed, run.cost.alwaysMedium)}), `
      + `as labeled ${usd(run.cost.asLabeled)} (${pct(run.cost.asLabeled, run.cost.alwaysHigh)} of always high)`,
  ];
  if (misses && run.misses.length) {
    lines.push('', `  misses (${run.misses.length}):`);
    for (const m of run.misses) {
      lines.push(`  - ${m.id} (line ${m.line}): expected ${m.expected}, routed ${m.got}: ${JSON.stringify(oneLine(m.ask))}`);
      lines.push(`      rules: ${m.reasons.join('; ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
