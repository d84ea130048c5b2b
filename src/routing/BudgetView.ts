import { KoubouError } from '../core/errors.ts';
import type { BudgetState } from '../policy/index.ts';

export interface BudgetViewOptions {
  /** Asks the ledger for this month's budget. */
  fetch: () => Promise<BudgetState>;
  /** How old the last answer may be and still route tasks. Default 5000 ms; past it, no paid tier is used. */
  maxAgeMs?: number;
  /** How often the ledger is asked again while tasks come. Default 250 ms. */
  refreshMs?: number;
  now?: () => number;
}

/**
 * The month's budget as this router last heard it from the ledger, for the task machine's budget
 * step, which is synchronous (a pure step: no actor, no request per task).
 *
 * The router waits, before it routes a new task, for an answer to a question asked after the task
 * came (`answeredSince`): tasks that come while a question is out share the next one, instead of
 * asking one each. It is also asked again in the background when read more than
 * `refreshMs` after the last question, and the router adds its own grants to it in between.
 *
 * It decides only whether a task should save money (a critical month keeps all but
 * high-difficulty work local); the reservation, granted by the ledger under its write lock for
 * every paid call (or for a gateway's budget slice the call is taken from), is what keeps the
 * month within its limit, so the view
 * can never make the month overspend.
 *
 * @example
 * const view = new BudgetView({ fetch: () => askLedger() });
 * await view.refresh();
 * view.current(); // => { yearMonth: '2026-12', limitUsd: 100, spentUsd: 12.5, reservedUsd: 0.4, ... }
 */
export class BudgetView {
  private state: BudgetState | null = null;
  private heardAt = Number.NEGATIVE_INFINITY;
  /** When the question now in flight (or the last one) was asked. */
  private askedAt = Number.NEGATIVE_INFINITY;
  /** When the question whose answer `state` is was asked. */
  private answerAskedAt = Number.NEGATIVE_INFINITY;
  /** The last question's failure; cleared by an answer. */
  private lastError: unknown = null;
  private pending: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: BudgetViewOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Asks the ledger now (one question at a time); resolves when answered or failed, never rejects. */
  refresh(): Promise<void> {
    if (this.pending) return this.pending;
    const asked = this.askedAt = this.now();
    this.pending = this.options.fetch().then(
      (state) => { this.state = state; this.heardAt = this.now(); this.answerAskedAt = asked; this.lastError = null; },
      (error: unknown) => { this.lastError = error; },
    ).finally(() => { this.pending = null; });
    return this.pending;
  }

  /**
   * Resolves once the view holds the answer to a question asked at or after `since` (a task's
   * arrival), or that question failed: a task is routed by the budget as it stood when the task
   * came, as if it had asked itself, while the tasks that come together share one question.
   * Never rejects.
   */
  async answeredSince(since: number): Promise<void> {
    while (this.answerAskedAt < since) {
      const inFlight = this.pending;
      if (!inFlight) return this.refresh();
      const recentEnough = this.askedAt >= since;
      await inFlight;
      if (recentEnough || this.lastError !== null) return;
    }
  }

  /**
   * The budget to route by.
   * @throws KoubouError `BUDGET_UNKNOWN` when no ledger has answered within `maxAgeMs`.
   */
  current(): BudgetState {
    const now = this.now();
    if (now - this.askedAt >= (this.options.refreshMs ?? 250)) void this.refresh();
    if (this.state && this.lastError === null && now - this.heardAt <= (this.options.maxAgeMs ?? 5000)) return this.state;
    const why = this.lastError instanceof Error ? this.lastError.message : this.state ? 'no answer since' : 'no answer yet';
    throw new KoubouError('BUDGET_UNKNOWN', this.state
      ? `the ledger last answered ${((now - this.heardAt) / 1000).toFixed(1)} s ago; since then: ${why}`
      : why);
  }

  /** A reservation this router was granted: counted until the ledger's next answer, which includes it. */
  noteReserved(amountUsd: number): void {
    if (this.state) this.state = { ...this.state, reservedUsd: this.state.reservedUsd + amountUsd };
  }
}
