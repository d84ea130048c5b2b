import { existsSync } from 'node:fs';
import { tierOf } from '../config/index.ts';
import type { KoubouConfig } from '../config/index.ts';
import type { Tier } from '../core/types.ts';
import { getBudgetStatus, latestRateLimitSignals, openLedgerDb, type LedgerDb } from '../db/index.ts';
import { canReserve, yearMonthOf, type BudgetState, apply429, applyHeaders, check, createRateLimitState } from '../policy/index.ts';
import { createScanner } from './createScanner.ts';
import { scanTask } from './scanTask.ts';
import type { RoutingServices } from './RoutingServices.ts';

export type OfflineServices = Omit<RoutingServices, 'now' | 'dispatch' | 'abortWork'> & { close(): void };

/**
 * Services for routing without a running system (`koubou route --dry-run`): the
 * budget and the providers' latest rate-limit signals come from the ledger file
 * when one exists, read-only; reservations are checked, never written.
 */
export function offlineServices(config: KoubouConfig, now: () => number = Date.now): OfflineServices {
  const db: LedgerDb | null = existsSync(config.ledger.path) ? openLedgerDb(config.ledger.path, { readonly: true }) : null;
  const scanner = createScanner(config);
  const signals = db ? latestRateLimitSignals(db) : [];
  const budgetState = (): BudgetState => {
    const yearMonth = yearMonthOf(now());
    const row = db ? getBudgetStatus(db, yearMonth) : null;
    return {
      yearMonth,
      limitUsd: config.budget.monthly_usd,
      spentUsd: row?.spentUsd ?? 0,
      reservedUsd: row?.reservedUsd ?? 0,
      alertThresholdPercent: config.budget.alert_threshold_percent,
    };
  };
  return {
    scanSensitivity: (task) => scanTask(scanner, task),
    budgetState,
    reserveBudget: async (req) => {
      const granted = canReserve(budgetState(), req.amountUsd);
      return { granted, reason: granted ? 'fits the monthly budget' : `$${req.amountUsd.toFixed(4)} would exceed the monthly limit` };
    },
    checkRateLimit: async (tier: Tier, tokens: number) => {
      const t = tierOf(config, tier);
      let state = createRateLimitState({ rpm: t.rpm, tpm: t.tpm });
      // The provider's last word on this tier, as the running system recorded it.
      const signal = signals.find((s) => s.tier === tier);
      if (signal) {
        state = applyHeaders(state, signal.headers, signal.observedAtMs);
        if (signal.status === 429) state = apply429(state, signal.headers['retry-after'], signal.headers['retry-after-ms'], signal.observedAtMs);
      }
      return check(state, tokens, now());
    },
    close: () => db?.close(),
  };
}
