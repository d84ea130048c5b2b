/**
 * A parent task's money cap in the ledger (src/db/parentCaps.ts), on a real SQLite file: the
 * reservations of its children, and of their children, count against it under the same lock as
 * the month's budget; a reservation past it is refused with the parent named.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeParent, currentYearMonth, getTask, openLedgerDb, openParent, parentCapState, releaseReservation, reserveBudget, upsertTask, type LedgerDb } from '../src/db/index.ts';

let db: LedgerDb;
beforeEach(() => { db = openLedgerDb(join(mkdtempSync(join(tmpdir(), 'koubou-caps-')), 'ledger.db')); });
afterEach(() => db.close());

const child = (taskId: string, parentTaskId: string) => upsertTask(db, { taskId, parentTaskId, taskType: 'general', difficulty: 'low', sensitivity: 'public', status: 'routing' });
const reserve = (id: string, taskId: string, amountUsd: number, parentTaskId?: string) => reserveBudget(db, {
  reservationId: id, taskId, tier: 'gpt5_medium', amountUsd, yearMonth: currentYearMonth(), limitUsd: 100, ...(parentTaskId ? { parentTaskId } : {}),
});

describe('a parent\'s money cap', () => {
  it('grants its children\'s reservations up to the cap and refuses the one past it, naming the parent', () => {
    openParent(db, 'mcp-s', 1);
    expect(reserve('r1', 'mcp-s-1', 0.4, 'mcp-s').granted).toBe(true);
    expect(reserve('r2', 'mcp-s-2', 0.4, 'mcp-s').granted).toBe(true);
    const past = reserve('r3', 'mcp-s-3', 0.4, 'mcp-s');
    expect(past).toMatchObject({ granted: false, reason: 'parent_cap', parent: { parentTaskId: 'mcp-s', capUsd: 1, reservedUsd: 0.8 } });
    // Money released comes back to the session.
    releaseReservation(db, 'r1');
    expect(reserve('r3', 'mcp-s-3', 0.4, 'mcp-s').granted).toBe(true);
    expect(parentCapState(db, 'mcp-s')).toMatchObject({ reservedUsd: 0.8 });
  });

  it('counts a grandchild (an agent\'s model request) against its grandparent\'s cap', () => {
    openParent(db, 'mcp-g', 0.5);
    child('mcp-g-1', 'mcp-g');
    expect(reserve('g1', 'gw-1', 0.3, 'mcp-g-1').granted).toBe(true);
    expect(reserve('g2', 'gw-2', 0.3, 'mcp-g-1')).toMatchObject({ granted: false, reason: 'parent_cap' });
  });

  it('finds the cap through a child\'s own reservation, before anything names the child\'s parent in task_master', () => {
    openParent(db, 'mcp-r', 0.5);
    // The child's cloud attempt, reserved by its router under the session ($0: an agent task).
    expect(reserve('c1', 'mcp-r-1', 0, 'mcp-r').granted).toBe(true);
    expect(getTask(db, 'mcp-r-1')).toBeNull();
    expect(reserve('rg1', 'gw-r1', 0.3, 'mcp-r-1').granted).toBe(true);
    expect(reserve('rg2', 'gw-r2', 0.3, 'mcp-r-1')).toMatchObject({ granted: false, reason: 'parent_cap', parent: { parentTaskId: 'mcp-r' } });
  });

  it('leaves a task without a capped ancestor to the month alone, and a session without a cap unbounded', () => {
    expect(reserve('n1', 'plain-1', 50).granted).toBe(true);
    openParent(db, 'mcp-free', null);
    expect(reserve('n2', 'mcp-free-1', 40, 'mcp-free').granted).toBe(true);
    expect(parentCapState(db, 'mcp-free')).toMatchObject({ capUsd: null, reservedUsd: 40 });
  });
});

describe('a parent\'s end', () => {
  it('marks an opened session completed with how it ended, and leaves its children as they are', () => {
    openParent(db, 'mcp-e', 1, { now: new Date('2026-12-07T10:00:00Z') });
    child('mcp-e-1', 'mcp-e');
    expect(closeParent(db, 'mcp-e', 'client_closed', { now: new Date('2026-12-07T11:30:00Z') })).toBe(true);
    expect(getTask(db, 'mcp-e')).toMatchObject({ status: 'completed', reason: expect.stringContaining('its client closed the connection'), updatedAt: '2026-12-07 11:30:00' });
    expect(getTask(db, 'mcp-e-1')?.status).toBe('routing');
    // The children still reserve under the session's cap after it ended.
    expect(reserve('e1', 'gw-e', 0.6, 'mcp-e-1').granted).toBe(true);
    expect(reserve('e2', 'gw-e2', 0.6, 'mcp-e-1')).toMatchObject({ granted: false, reason: 'parent_cap' });
    // A second end changes nothing: the first one, and its time, stay.
    expect(closeParent(db, 'mcp-e', 'server_stopped')).toBe(true);
    expect(getTask(db, 'mcp-e')).toMatchObject({ reason: expect.stringContaining('its client closed'), updatedAt: '2026-12-07 11:30:00' });
    // Nor is an ended session opened again: its children's ids would be used twice.
    expect(openParent(db, 'mcp-e', 5)).toBe(false);
    expect(parentCapState(db, 'mcp-e')?.capUsd).toBe(1);
  });

  it('closes nothing but a parent opened as one', () => {
    upsertTask(db, { taskId: 'plain-e', taskType: 'general', difficulty: 'low', sensitivity: 'public', status: 'routing' });
    expect(closeParent(db, 'plain-e', 'server_stopped')).toBe(false);
    expect(getTask(db, 'plain-e')?.status).toBe('routing');
  });
});
