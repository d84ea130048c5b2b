/**
 * What `koubou status` and `koubou costs` share: asking the ledger over NATS as a submitter,
 * queue depths, durations, and plain-text tables.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import { LedgerClient, STREAMS, workConsumers } from '../../bus/index.ts';
import { InputError } from '../../core/errors.ts';
import { DEFAULT_TIERS, LOCAL_TIER, type Tier } from '../../core/types.ts';
import { natsContext, type NatsContext } from '../natsContext.ts';

/** How long to wait for the ledger's answer. */
export const LEDGER_TIMEOUT_MS = 3000;

/**
 * Connects as `submitter` (honouring `--nats`), runs `fn`, and always closes the connection.
 *
 * @example
 * await withSubmitter(program, opts, 'koubou-status', (nc, ctx) => cliLedger(nc, ctx.url).status());
 */
export async function withSubmitter<T>(
  program: Command, opts: { nats?: string }, name: string, fn: (nc: NatsConnection, ctx: NatsContext) => Promise<T>,
): Promise<T> {
  const ctx = natsContext(program, opts);
  const nc = await ctx.connect('submitter', name);
  try {
    return await fn(nc, ctx);
  } finally {
    await nc.close();
  }
}

/**
 * The ledger as the CLI asks it: a LedgerClient whose `LEDGER_UNAVAILABLE` names the bus the user
 * gave (`no ledger answered on <url> (is \`koubou up\` running?)`); `LEDGER_ERROR` when the ledger
 * answers `{ error }`.
 * @example
 * const status = await cliLedger(nc, url).status();
 */
export function cliLedger(nc: NatsConnection, url: string, timeoutMs = LEDGER_TIMEOUT_MS): LedgerClient {
  return new LedgerClient(nc, { timeoutMs, server: url });
}

/**
 * Work waiting per tier: not yet delivered plus delivered but not acked. null when the tier's
 * queue cannot be read (streams not created yet).
 */
export async function queueDepths(nc: NatsConnection, tiers: readonly Tier[] = DEFAULT_TIERS): Promise<Record<Tier, number | null>> {
  const out = Object.fromEntries(tiers.map((t) => [t, null])) as Record<Tier, number | null>;
  let jsm;
  try {
    jsm = await jetstreamManager(nc);
  } catch {
    return out;
  }
  // The local tier's depth is the sum of its lanes.
  await Promise.all(workConsumers(tiers.filter((t) => t !== LOCAL_TIER)).map(async ({ tier, name }) => {
    try {
      const info = await jsm.consumers.info(STREAMS.work, name);
      out[tier] = (out[tier] ?? 0) + info.num_pending + info.num_ack_pending;
    } catch {
      // A lane that cannot be read leaves the figure at what the others add up to (null if none).
    }
  }));
  return out;
}

const UNIT_HOURS = { m: 1 / 60, h: 1, d: 24 } as const;

/**
 * Parses `30m`, `24h`, `7d` (also `1.5h`) into hours.
 * @throws InputError naming the option.
 * @example parseDurationHours('7d') // => 168
 */
export function parseDurationHours(text: string, option = '--since'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$/i.exec(text);
  const hours = m ? Number(m[1]) * UNIT_HOURS[m[2]!.toLowerCase() as keyof typeof UNIT_HOURS] : NaN;
  if (!Number.isFinite(hours) || hours <= 0) {
    throw new InputError(`${option} "${text}" is not a duration: use a number followed by m, h or d (e.g. 30m, 24h, 7d)`);
  }
  return hours;
}

/**
 * A left-aligned text table; columns are as wide as their widest cell.
 * @example table(['TIER', 'WAITING'], [['local', '3']]) // "TIER   WAITING\nlocal  3"
 */
export function table(header: string[], rows: string[][], indent = '  '): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Ledger timestamp text (`YYYY-MM-DD HH:MM:SS`, UTC) as "12 s ago". */
export function ago(sqlTime: string | null, now: Date): string {
  if (!sqlTime) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(`${sqlTime.replace(' ', 'T')}Z`)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
