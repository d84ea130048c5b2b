/**
 * A V8 CPU profile (`node --cpu-prof`) summed up: the functions with the most self time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** The `n` functions with the most self time, as `share%  function  file:line`, and the seconds sampled. */
export function topSelfTime(file: string, n = 10): { seconds: number; rows: { share: number; where: string }[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const d = p.timeDeltas[i] ?? 0;
    total += d;
    const url = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|src|actors|machines)\//, '$1/');
    const where = `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(where, (self.get(where) ?? 0) + d);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([where, t]) => ({ share: (100 * t) / total, where }));
  return { seconds: total / 1e6, rows };
}
