// Compiles koubou's TypeScript to dist/ when the sources are newer than the last build, so
// every command starts from plain JavaScript. Used by bin/koubou.js before each start and
// by `npm run build` / `prepare`. A lock keeps processes that start at once (koubou up's
// children, tests) from compiling over each other.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.built');
const LOCK = join(DIST, '.lock');
const SOURCES = ['src', 'machines', 'actors'];
const INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 120_000;

/** The newest modification time among the sources and the build's settings. */
function newestSource() {
  let newest = 0;
  for (const dir of SOURCES) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
    }
  }
  for (const file of INPUTS) newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs);
  return newest;
}

/** True when dist/ holds a build at least as new as every source. */
export function isBuilt() {
  return existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestSource();
}

/** The TypeScript compiler, or null where it is not installed (npm ci --omit=dev). */
function tscPath() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

function takeLock() {
  mkdirSync(DIST, { recursive: true });
  const deadline = Date.now() + STALE_LOCK_MS + 5_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`koubou: ${LOCK} is held by another build; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/**
 * Builds dist/ if it is missing or older than the sources. Returns true when dist/ is
 * ready, false when it cannot be built here (no TypeScript compiler): the caller then runs
 * the sources through tsx.
 */
export function ensureBuilt({ quiet = false } = {}) {
  if (isBuilt()) return true;
  const tsc = tscPath();
  if (!tsc) return false;
  takeLock();
  try {
    if (isBuilt()) return true; // another process built it while this one waited
    const started = Date.now();
    const since = Date.now();
    if (!quiet) process.stderr.write('koubou: compiling the TypeScript sources to dist/ (sources changed since the last build)...\n');
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`koubou: the build failed:\n${(r.stdout + r.stderr).trim().split('\n').slice(-20).join('\n')}\n`);
      process.exit(1);
    }
    writeFileSync(STAMP, '');
    // The stamp marks the sources as they were when the build began: an edit made during
    // the build is newer, and triggers the next one.
    utimesSync(STAMP, new Date(since), new Date(since));
    if (!quiet) process.stderr.write(`koubou: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!ensureBuilt({ quiet: process.argv.includes('--quiet') })) {
    process.stderr.write('koubou: TypeScript is not installed (npm ci --omit=dev?); koubou runs its sources through tsx instead\n');
  }
}
