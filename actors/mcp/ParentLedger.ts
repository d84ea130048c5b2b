/**
 * What the MCP server asks the ledger about its session: open it as a parent task with its money
 * cap (koubou.ledger.parent.open, which only the MCP role may publish), close it when the session
 * ends (koubou.ledger.parent.close, the same), its spend so far, and the month's budget.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { LedgerClient } from '../../src/bus/index.ts';
import type { ParentEnd } from '../../src/db/parentCaps.ts';

export interface ParentSpend { parentTaskId: string; capUsd: number | null; spentUsd: number; reservedUsd: number }
export interface MonthFigures { yearMonth: string; limitUsd: number; spentUsd: number; reservedUsd: number }

/**
 * @example
 * const ledger = new ParentLedger(nc);
 * await ledger.open('mcp-1a2b', 2.5);
 * (await ledger.spend('mcp-1a2b'))?.spentUsd;
 */
export class ParentLedger {
  private readonly ledger: LedgerClient;
  constructor(nc: NatsConnection, timeoutMs = 5000) {
    this.ledger = new LedgerClient(nc, { timeoutMs });
  }

  /** @throws LedgerError `LEDGER_ERROR` when the session has ended already (a session id is used once). */
  async open(parentTaskId: string, capUsd: number | null): Promise<void> {
    await this.ledger.parentOpen(parentTaskId, capUsd);
  }

  /** Marks the session ended in the ledger (its row completed, with the time and how it ended). */
  async close(parentTaskId: string, end: ParentEnd): Promise<void> {
    await this.ledger.parentClose(parentTaskId, end);
  }

  /** The parent's spend and reservations, its whole tree; null when the ledger does not answer. */
  async spend(parentTaskId: string): Promise<ParentSpend | null> {
    try {
      return await this.ledger.parent(parentTaskId);
    } catch {
      return null;
    }
  }

  /** The month's budget; null when the ledger does not answer. */
  async month(): Promise<MonthFigures | null> {
    try {
      const m = await this.ledger.budget();
      return { yearMonth: m.yearMonth, limitUsd: m.limitUsd, spentUsd: m.spentUsd, reservedUsd: m.reservedUsd };
    } catch {
      return null;
    }
  }
}
