import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, encode, LedgerClient, MSG_ID, parentToken, SUBJECTS } from '../../src/bus/index.ts';
import { isCloudTier, type KoubouConfig } from '../../src/config/index.ts';
import { getObject, putObject, readWorkspaceFiles } from '../../src/workspace/index.ts';
import { KoubouError } from '../../src/core/errors.ts';
import { taskPrompt } from '../../src/core/taskPrompt.ts';
import { laneFor } from '../../src/pool/index.ts';
import { attemptPrompt, BudgetView, workItemBase, createScanner, assertDispatchAllowed, executorOf, scanTask, type RoutingServices } from '../../src/routing/index.ts';

import type { RateLimitStore } from './RateLimitStore.ts';

export interface NatsRoutingServicesOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  config: KoubouConfig;
  rateLimits: RateLimitStore;
  /** How long to wait for the ledger's answer. Default 2000 ms. */
  ledgerTimeoutMs?: number;
  /** How the router keeps the month's budget (see BudgetView); its defaults otherwise. */
  budget?: { maxAgeMs?: number; refreshMs?: number };
  now?: () => number;
  /** The front doors' key: an agent work item carries its task's parent token under it (doorSeal.ts). */
  doorKey?: string;
}

/**
 * The task machine's services over NATS: the ledger answers budget questions (shared by the
 * tasks that come together, kept in a BudgetView) and reservations (every paid call) by
 * request/reply, the shared KV keeps rate limits, and work goes to the tier's JetStream queue.
 */
export function natsRoutingServices(options: NatsRoutingServicesOptions): RoutingServices & { ready(): Promise<void> } {
  const { nc, js, config, rateLimits } = options;
  const ledger = new LedgerClient(nc, { timeoutMs: options.ledgerTimeoutMs ?? 2000 });
  const now = options.now ?? Date.now;
  const scanner = createScanner(config);
  // Bundles just scanned, for the dispatch that follows (a cloud tier's copy): fetched once, not twice.
  const scanned = new Map<string, Uint8Array>();
  const fetchBundle = async (object: string): Promise<Uint8Array> => {
    const bundle = scanned.get(object) ?? await getObject(nc, BUCKETS.workspaces, object);
    if (!bundle) throw new KoubouError('WORKSPACE_MISSING', `workspace ${object} is not in the ${BUCKETS.workspaces} bucket (expired, or never uploaded)`);
    return bundle;
  };
  const budget = new BudgetView({ ...options.budget, now, fetch: () => ledger.budget() });
  return {
    /** Asks the ledger for the budget once before the first task (not fatal: without a ledger, tasks stay local). */
    ready: () => budget.refresh(),
    async scanSensitivity(task) {
      if (!task.workspace) return scanTask(scanner, task);
      // Every file of the workspace is scanned before routing: a secret anywhere keeps the task local.
      const bundle = await fetchBundle(task.workspace.object);
      scanned.set(task.workspace.object, bundle);
      // A few at most: a task routed locally never comes to take its bundle back.
      if (scanned.size > 4) scanned.delete(scanned.keys().next().value!);
      const files = readWorkspaceFiles(bundle, task.workspace.commit);
      return scanTask(scanner, task, files);
    },
    budgetState: () => budget.current(),
    budgetAnsweredSince: (since) => budget.answeredSince(since),
    async reserveBudget(request) {
      // LEDGER_ERROR when the ledger cannot decide (bad request, database locked); LEDGER_UNAVAILABLE when none answers.
      const answer = await ledger.reserve(request);
      if (answer.granted) budget.noteReserved(request.amountUsd);
      return answer;
    },
    checkRateLimit: (tier, tokens, requestId) => rateLimits.take(tier, tokens, now(), requestId),
    async dispatch(input) {
      const { task, tier, attempt, feedback } = input;
      assertDispatchAllowed(input, config);
      // What runs the task (executorOf, the rule its reservation followed) decides the queue. Local
      // work goes on the lane the priority rules prefer (workers on this machine, on LAN hosts, or
      // either); agent work on the tier's agent queue, which only agent workers pull.
      const agent = executorOf(task) === 'agent';
      const subject = agent ? SUBJECTS.agentWork(tier)
        : tier === 'local' ? SUBJECTS.work(tier, laneFor(task.priority, config.routing_policy.rules).lane) : SUBJECTS.work(tier);
      // Only an agent works in the workspace: a single call is sent its prompt and files alone.
      const workspace = agent ? task.workspace : undefined;
      let bucket: string = BUCKETS.workspaces;
      if (workspace && isCloudTier(config, tier)) {
        // Cloud workers read only the cloud bucket: the workspace goes there once it is scanned and routed to the cloud.
        await putObject(nc, BUCKETS.cloudWorkspaces, workspace.object, await fetchBundle(workspace.object));
        bucket = BUCKETS.cloudWorkspaces;
      }
      if (task.workspace) scanned.delete(task.workspace.object);
      await js.publish(subject, encode({
        ...workItemBase(input, now()),
        // The task's text travels once: a single call's conversation as it is, else the prompt (an agent reads a prompt).
        ...(task.conversation && !agent ? { conversation: task.conversation }
          : { prompt: await attemptPrompt(taskPrompt(task), feedback, { cloud: isCloudTier(config, tier), scanner }) }),
        ...(workspace ? { workspace: { ...workspace, bucket } } : {}), ...(agent && task.agent ? { agent: task.agent } : {}),
        ...(agent && options.doorKey ? { parentToken: parentToken(options.doorKey, task.taskId) } : {}),
      }), { msgID: MSG_ID.workItem(task.taskId, attempt) });
    },
    abortWork(taskId) {
      nc.publish(SUBJECTS.abort(taskId));
    },
    now,
  };
}
