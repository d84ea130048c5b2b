import type { RoutingDecision } from '../routing/index.ts';

/** A routing decision as a person reads it: the answer first, then the trace. */
export function formatDecision(d: RoutingDecision): string {
  const lines = [
    `task ${d.taskId} → ${d.tier ?? 'nowhere'}${d.error ? ` (${d.error.code}: ${d.error.message})` : ''}`,
    `  sensitivity  ${d.sensitivity.level}${d.sensitivity.categories.length ? ` (${d.sensitivity.categories.join(', ')})` : ''}`,
    `  difficulty   ${d.difficulty.level}, score ${d.difficulty.score}, ${d.difficulty.tokens} tokens`,
    `  budget       ${'percentUsed' in d.budget ? `${Number.isFinite(d.budget.percentUsed) ? d.budget.percentUsed.toFixed(1) : '?'}% used${d.budget.critical ? ', critical' : ''}` : 'not consulted'}`,
  ];
  if (d.reservationUsd !== null) lines.push(`  reserve      $${d.reservationUsd.toFixed(4)} worst case`);
  for (const f of d.fallbacks) lines.push(`  fallback     ${f.from} → ${f.to} (${f.phase}): ${f.reason}`);
  lines.push('trace:');
  for (const [i, t] of d.trace.entries()) lines.push(`  ${String(i + 1).padStart(2)}. ${t.state.padEnd(18)} ${t.reason}`);
  return `${lines.join('\n')}\n`;
}
