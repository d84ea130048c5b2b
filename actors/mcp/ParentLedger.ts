/**
 * What the MCP server asks the ledger about its session: open it as a parent task with its money
 * cap (koubou.ledger.parent.open, which only the MCP role may publish), close it when the session
 * ends (koubou.ledger.parent.close, the same), its spend so far, and the month's budget.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { encode, SUBJECTS } from '../../src/bus/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
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
  constructor(private readonly nc: NatsConnection, private readonly timeoutMs = 5000) {}

  async open(parentTaskId: string, capUsd: number | null): Promise<void> {
    await this.ask(SUBJECTS.parentOpen, { parentTaskId, capUsd });
  }

  /** Marks the session ended in the ledger (its row completed, with the time and how it ended). */
  async close(parentTaskId: string, end: ParentEnd): Promise<void> {
    await this.ask(SUBJECTS.parentClose, { parentTaskId, end });
  }

  /** The parent's spend and reservations, its whole tree; null when the ledger does not answer. */
  async spend(parentTaskId: string): Promise<ParentSpend | null> {
    try {
      return await this.ask<ParentSpend>(SUBJECTS.ledgerQuery('parent'), { parentTaskId });
    } catch {
      return null;
    }
  }

  /** The month's budget; null when the ledger does not answer. */
  async month(): Promise<MonthFigures | null> {
    try {
      const m = await this.ask<MonthFigures>(SUBJECTS.ledgerQuery('budget'), {});
      return { yearMonth: m.yearMonth, limitUsd: m.limitUsd, spentUsd: m.spentUsd, reservedUsd: m.reservedUsd };
    } catch {
      return null;
    }
  }

  private async ask<T>(subject: string, body: unknown): Promise<T> {
    let reply;
    try {
      reply = await this.nc.request(subject, encode(body), { timeout: this.timeoutMs });
    } catch (e) {
      throw new KoubouError('LEDGER_UNAVAILABLE', `no ledger answered ${subject} (is \`koubou up\` running?)`, { retryable: true, cause: e });
    }
    const answer = reply.json<T & { error?: string }>();
    if (answer.error) throw new KoubouError('LEDGER_ERROR', `the ledger refused ${subject}: ${answer.error}`);
    return answer;
  }
}
