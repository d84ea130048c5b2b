/**
 * The layer rules (.dependency-cruiser.cjs, run by scripts/test): the project holds them, and
 * the check fails — naming the rule — on a cycle, on the library importing an actor, on an
 * impure machine and on a reach past a package's index, shown on a small tree made here.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = join(REPO, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string): { code: number | null; out: string } {
  const r = spawnSync(DEPCRUISE, ['src', 'actors', 'machines', '--config', '.dependency-cruiser.cjs'], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('layer rules', () => {
  it('hold for the project', () => {
    const r = cruise(REPO);
    expect(r.out).toMatch(/no dependency violations found/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('fail on a cycle, the library importing an actor, an impure machine and a reach past an index', () => {
    const dir = mkdtempSync(join(tmpdir(), 'koubou-layers-'));
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    copyFileSync(join(REPO, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }));
    file('src/a.ts', "import { b } from './b.ts';\nexport const a = () => b;\n");
    file('src/b.ts', "import { a } from './a.ts';\nexport const b = () => a;\n");
    file('actors/x/X.ts', 'export const x = 1;\n');
    file('src/uses-actor.ts', "import { x } from '../actors/x/X.ts';\nexport const y = x;\n");
    file('machines/m.ts', "import { readFileSync } from 'node:fs';\nexport const m = readFileSync;\n");
    file('src/policy/index.ts', "export * from './budget.ts';\n");
    file('src/policy/budget.ts', 'export const limit = 1;\n');
    file('src/reach.ts', "import { limit } from './policy/budget.ts';\nexport const r = limit;\n");
    const r = cruise(dir);
    expect(r.code).not.toBe(0);
    for (const rule of ['no-circular', 'library-not-on-actors', 'machines-are-pure', 'policy-one-entry']) expect(r.out).toContain(rule);
  }, 60_000);
});
