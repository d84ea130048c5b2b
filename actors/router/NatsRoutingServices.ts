import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode, MSG_ID, reserveReplySchema, SUBJECTS } from '../../src/bus/index.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import type { BudgetState } from '../../src/policy/index.ts';
import { laneFor } from '../../src/pool/index.ts';
import { createScanner, assertDispatchAllowed, type RoutingServices } from '../../src/routing/index.ts';
import type { RateLimitStore } from './RateLimitStore.ts';

export interface NatsRoutingServicesOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  config: KoubouConfig;
  rateLimits: RateLimitStore;
  /** How long to wait for the ledger's answer. Default 2000 ms. */
  ledgerTimeoutMs?: number;
  now?: () => number;
}

/**
 * The task machine's services over NATS: the ledger answers budget questions and
 * reservations by request/reply, the shared KV keeps rate limits, and work goes
 * to the tier's JetStream queue.
 */
export function natsRoutingServices(options: NatsRoutingServicesOptions): RoutingServices {
  const { nc, js, config, rateLimits } = options;
  const timeout = options.ledgerTimeoutMs ?? 2000;
  const now = options.now ?? Date.now;
  const scanner = createScanner(config);
  const ask = async (subject: string, body: unknown) => {
    try {
      return await nc.request(subject, encode(body), { timeout });
    } catch (e) {
      throw new KoubouError('LEDGER_UNAVAILABLE', `no ledger answered on ${subject}: ${(e as Error).message}`, { retryable: true, cause: e });
    }
  };
  return {
    scanSensitivity: (task) => scanner.scan({ prompt: task.prompt, files: task.files }),
    async budgetState(): Promise<BudgetState> {
      const reply = await ask(SUBJECTS.ledgerQuery('budget'), {});
      const body = reply.json<BudgetState & { error?: string }>();
      if (body.error) throw new KoubouError('LEDGER_ERROR', body.error);
      return body;
    },
    async reserveBudget(request) {
      const reply = await ask(SUBJECTS.budgetReserve, request);
      const body = reply.json<{ error?: string }>();
      // The ledger answers `{ error }` when it cannot decide (bad request, database locked).
      if (typeof body?.error === 'string') throw new KoubouError('LEDGER_ERROR', `ledger: ${body.error}`, { retryable: true });
      return decode(reserveReplySchema, reply.data, SUBJECTS.budgetReserve);
    },
    releaseReservation(reservationId) {
      // Best effort now; the ledger also releases on the task's terminal event.
      nc.request(SUBJECTS.budgetRelease, encode({ reservationId }), { timeout }).catch(() => {});
    },
    checkRateLimit: (tier, tokens, requestId) => rateLimits.take(tier, tokens, now(), requestId),
    async dispatch({ task, tier, attempt, reservationId, sensitivity }) {
      assertDispatchAllowed({ task, tier, attempt, reservationId, sensitivity }, config);
      // Local work goes on the lane the priority rules prefer (workers on this machine, on LAN hosts, or either).
      const subject = tier === 'local' ? SUBJECTS.work(tier, laneFor(task.priority, config.routing_policy.rules).lane) : SUBJECTS.work(tier);
      await js.publish(subject, encode({
        taskId: task.taskId, attempt, tier, type: task.type, priority: task.priority, prompt: task.prompt,
        files: task.files, ...(task.conversation ? { conversation: task.conversation } : {}), reservationId, dispatchedAt: new Date(now()).toISOString(),
      }), { msgID: MSG_ID.workItem(task.taskId, attempt) });
    },
    abortWork(taskId) {
      nc.publish(SUBJECTS.abort(taskId));
    },
    now,
  };
}
