/** Small helpers shared by test files. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { LedgerDb } from '../../src/db/index.ts';

let seq = 0;
/** An id no other test (or test process) uses: tests stay isolated by unique names. */
export const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A fresh directory and ledger file path per test, removed after it with every
 * database the test opened through `track`.
 */
export function useTempLedger(): { readonly dir: string; readonly file: string; track(db: LedgerDb): LedgerDb } {
  const state = { dir: '', file: '' };
  const open: LedgerDb[] = [];
  beforeEach(() => {
    state.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koubou-db-'));
    state.file = path.join(state.dir, 'ledger.db');
  });
  afterEach(() => {
    for (const db of open.splice(0)) if (db.open) db.close();
    fs.rmSync(state.dir, { recursive: true, force: true });
  });
  return {
    get dir() { return state.dir; },
    get file() { return state.file; },
    track: (db) => (open.push(db), db),
  };
}

/** Polls `pred` every 20 ms until it gives something truthy, and resolves with that; throws after `timeoutMs`. */
export async function until<T>(pred: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await pred();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

/**
 * A deterministic pseudo-random string over `alphabet` (an LCG), so that tests assemble their
 * test secrets at run time, reproducibly, and no file holds one.
 */
export function seededText(length: number, seed = 7, alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'): string {
  let state = seed;
  let out = '';
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out += alphabet[state % alphabet.length];
  }
  return out;
}
