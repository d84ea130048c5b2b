import { cpus, totalmem } from 'node:os';
import { readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}`;
}

/**
 * Replaces one benchmark's section of docs/benchmarks.md (between its markers),
 * so each benchmark can be re-run alone without losing the others' figures.
 */
export function recordSection(id: string, markdown: string, file = 'docs/benchmarks.md'): void {
  const begin = `<!-- bench:${id}:begin -->`;
  const end = `<!-- bench:${id}:end -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nProduced by `npm run bench`; each section says when and where it ran.\n';
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  doc = a >= 0 && b > a ? doc.slice(0, a) + block + doc.slice(b + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
}

export const stamp = (): string => new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** `bytes` characters of TypeScript/JavaScript from node_modules (xstate, zod): what the scanner benchmarks read. */
export function sourceCorpus(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (size >= bytes) return;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(name) && st.size < 200_000) { const t = readFileSync(p, 'utf8'); parts.push(t); size += t.length; }
    }
  };
  walk('node_modules/xstate/dist');
  walk('node_modules/zod');
  return parts.join('\n').slice(0, bytes);
}
