/**
 * The one way to ask the ledger: a method per subject of ledgerApi.ts, each reply checked against
 * its schema, and every failure a LedgerError with a stable code.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { KoubouError } from '../core/errors.ts';
import { decode, encode } from './codec.ts';
import {
  LEDGER_API, ledgerErrorReplySchema, type LedgerMethod, type LedgerReply, type LedgerRequest, type ReserveReply, type ReserveRequest,
} from './ledgerApi.ts';

/** How long a request waits for the ledger's answer when the options do not say. */
export const DEFAULT_LEDGER_TIMEOUT_MS = 3000;

/**
 * - `LEDGER_UNAVAILABLE`: nothing answered (no ledger subscribed, or none within the timeout); retryable.
 * - `LEDGER_ERROR`: the ledger answered `{ error }` (a request it refused, or a failure it names); `ledgerMessage` holds its words.
 * - `LEDGER_BAD_REPLY`: the reply is not JSON or does not match its subject's reply schema (a ledger of another version).
 */
export type LedgerErrorCode = 'LEDGER_UNAVAILABLE' | 'LEDGER_ERROR' | 'LEDGER_BAD_REPLY';

/** @example if (e instanceof LedgerError && e.code === 'LEDGER_UNAVAILABLE') retryLater(); */
export class LedgerError extends KoubouError {
  declare readonly code: LedgerErrorCode;
  constructor(
    code: LedgerErrorCode,
    message: string,
    readonly subject: string,
    options: { cause?: unknown; ledgerMessage?: string } = {},
  ) {
    super(code, message, { retryable: code === 'LEDGER_UNAVAILABLE', cause: options.cause });
    this.ledgerMessage = options.ledgerMessage;
  }
  /** With `LEDGER_ERROR`: what the ledger said, as it said it. */
  readonly ledgerMessage: string | undefined;
}

export interface LedgerClientOptions {
  /** How long each request waits for the ledger's answer. Default DEFAULT_LEDGER_TIMEOUT_MS (3000 ms). */
  timeoutMs?: number;
  /** What `LEDGER_UNAVAILABLE` names as the bus it asked (e.g. the URL a user gave). Default the connection's current server. */
  server?: string;
}

/**
 * Requests are not checked here: the ledger decodes them with the same schemas and answers
 * `{ error }` (LEDGER_ERROR) naming the field, so the rule is applied once, where it counts.
 *
 * @example
 * const ledger = new LedgerClient(nc, { timeoutMs: 2000 });
 * const { granted, reason } = await ledger.reserve({ reservationId, taskId, tier: 'gpt5_high', amountUsd: 0.2, yearMonth: '2026-12' });
 * const month = await ledger.budget(); // { yearMonth, limitUsd, spentUsd, reservedUsd, alertThresholdPercent }
 */
export class LedgerClient {
  readonly timeoutMs: number;
  constructor(private readonly nc: NatsConnection, private readonly options: LedgerClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LEDGER_TIMEOUT_MS;
  }

  /** Reserves `amountUsd` of the month (and of the key's and the parent's caps) for a paid call. Idempotent by `reservationId`. */
  reserve(request: ReserveRequest): Promise<ReserveReply> {
    return this.ask('reserve', request);
  }
  /** Gives a reservation back; `released: false` when it was not active (already settled, released, or never made). */
  release(reservationId: string): Promise<LedgerReply<'release'>> {
    return this.ask('release', { reservationId });
  }
  /** The current month: limit, spent, reserved, alert threshold. */
  budget(): Promise<LedgerReply<'budget'>> {
    return this.ask('budget', {});
  }
  /** Workers, tasks and cost of the last 24 h, the budget, the budget watch, pass rates, the newest tasks. */
  status(): Promise<LedgerReply<'status'>> {
    return this.ask('status', {});
  }
  /** Spend over the last `sinceHours` (the ledger's default: 24), per tier and model and per gateway key. */
  costs(sinceHours?: number): Promise<LedgerReply<'costs'>> {
    return this.ask('costs', sinceHours === undefined ? {} : { sinceHours });
  }
  /** One task with its routing decisions and fallbacks; LEDGER_ERROR "unknown task …" when the ledger has no record of it. */
  task(taskId: string): Promise<LedgerReply<'task'>> {
    return this.ask('task', { taskId });
  }
  /** Whose gateway key has this SHA-256 hex digest (`key: null`: none live). */
  gatewayKey(digest: string): Promise<LedgerReply<'gatewayKey'>> {
    return this.ask('gatewayKey', { digest });
  }
  /** Whose dashboard key has this digest (none asked: `key: null`), and how many dashboard keys are live. */
  dashboardKey(digest?: string): Promise<LedgerReply<'dashboardKey'>> {
    return this.ask('dashboardKey', digest ? { digest } : {});
  }
  /** Opens a front door's session as a parent task with its money cap (only the `mcp` role may). */
  parentOpen(parentTaskId: string, capUsd: number | null): Promise<LedgerReply<'parentOpen'>> {
    return this.ask('parentOpen', { parentTaskId, capUsd });
  }
  /** Marks a front door's session ended; its children run on (only the `mcp` role may). */
  parentClose(parentTaskId: string, end: LedgerRequest<'parentClose'>['end']): Promise<LedgerReply<'parentClose'>> {
    return this.ask('parentClose', { parentTaskId, end });
  }
  /** A capped parent's cap, spend and reservations, its whole tree. */
  parent(parentTaskId: string): Promise<LedgerReply<'parent'>> {
    return this.ask('parent', { parentTaskId });
  }
  /** Every task tree with a root created in the last `sinceHours` (default 24), spend rolled up. */
  tree(sinceHours?: number): Promise<LedgerReply<'tree'>> {
    return this.ask('tree', sinceHours === undefined ? {} : { sinceHours });
  }

  /** Leases a budget slice for a gateway (only the `gateway` role may): src/bus/sliceMessages.ts. */
  sliceLease(request: LedgerRequest<'sliceLease'>): Promise<LedgerReply<'sliceLease'>> {
    return this.ask('sliceLease', request);
  }
  /** Gives a budget slice back with what its calls cost (only the `gateway` role may). */
  sliceReturn(request: LedgerRequest<'sliceReturn'>): Promise<LedgerReply<'sliceReturn'>> {
    return this.ask('sliceReturn', request);
  }

  private async ask<M extends LedgerMethod>(method: M, body: LedgerRequest<M>): Promise<LedgerReply<M>> {
    const { subject, reply: schema } = LEDGER_API[method];
    let data: Uint8Array;
    try {
      data = (await this.nc.request(subject, encode(body), { timeout: this.timeoutMs })).data;
    } catch (e) {
      const server = this.options.server ?? this.nc.getServer();
      throw new LedgerError('LEDGER_UNAVAILABLE', `no ledger answered on ${server} (is \`koubou up\` running?): ${subject}: ${(e as Error).message}`, subject, { cause: e });
    }
    let json: unknown;
    try {
      json = decode(z.unknown(), data, subject);
    } catch (e) {
      throw new LedgerError('LEDGER_BAD_REPLY', `the ledger's reply on ${(e as Error).message}`, subject, { cause: e });
    }
    // Any subject's reply may be `{ error }` instead of its own shape; no reply has a top-level `error` of its own.
    const refused = ledgerErrorReplySchema.safeParse(json);
    if (refused.success) {
      throw new LedgerError('LEDGER_ERROR', `the ledger refused ${subject}: ${refused.data.error}`, subject, { ledgerMessage: refused.data.error });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new LedgerError('LEDGER_BAD_REPLY', `the ledger's reply on ${subject} does not match its schema: ${issue.path.join('.') || '(reply)'}: ${issue.message}`, subject);
    }
    return parsed.data as LedgerReply<M>;
  }
}
