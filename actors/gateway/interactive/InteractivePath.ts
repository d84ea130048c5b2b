/**
 * The interactive path: a gateway request routed and answered in the gateway's own process. The
 * task machine is pure, so it runs here: the scan, the difficulty and the budget view are local
 * (a tier with rate limits still reads and writes its shared window); a paid call this gateway
 * makes is reserved from its budget slice, one that goes to a queue by the ledger; and a call on a cloud tier
 * whose backend this gateway has is made from here, by the worker's own code. What the machine
 * sends elsewhere (a local tier's queue, an agent) is handed to the routers through the task
 * store (adoptTask). The task's events and charge go to JetStream as one message when it ends,
 * and the request waits for it before it answers: a client told its request succeeded finds its task and its
 * charge on the ledger's stream, as with a task the routers ran (TaskRecords).
 */
import { createActor, waitFor, type AnyActorRef } from 'xstate';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Report, StreamDelta, TaskEventMessage } from '../../../src/bus/index.ts';
import { taskPolicyOf, tierPlanOf, type KoubouConfig } from '../../../src/config/index.ts';
import type { TaskInput, Tier } from '../../../src/core/types.ts';
import { assertDispatchAllowed, createRoutingSteps, reportEvents, type ReservationRequest, type RoutingServices } from '../../../src/routing/index.ts';
import { createTaskMachine } from '../../../machines/task.machine.ts';
import { statusOf } from '../../../machines/statusOf.ts';
import type { DispatchInput } from '../../../machines/task.types.ts';
import { adoptTask, eventsSince, isRest, recordDifficultyOf, TaskDriver, type RateLimitStore, type TaskStore } from '../../router/index.ts';
import { DirectCalls, type DirectBackend } from './DirectCalls.ts';
import { TaskRecords } from './TaskRecords.ts';

/** A reservation granted to an attempt: the id its usage names, and how to settle it once that usage is stored. */
export interface InteractiveGrant {
  granted: true;
  reservationId: string;
  /** The attempt's calls cost `chargedUsd`, and their usage is durable: what the grant held becomes that. */
  settle(chargedUsd: number): void;
}

/** Where a gateway's paid calls are reserved: its budget slices (sliceBudget). */
export interface InteractiveBudget {
  reserve(request: ReservationRequest): Promise<InteractiveGrant | { granted: false; reason: string }>;
  /** The gateway is stopping: give back what it holds. */
  stop?(): Promise<void>;
}

export interface InteractivePathOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  config: KoubouConfig;
  /** The routers' services over NATS: the scan, the budget view, the rate-limit windows, the queues. */
  services: RoutingServices & { ready(): Promise<void> };
  /** The task store and the rate-limit windows the routers share. */
  store: TaskStore;
  rateLimits: RateLimitStore;
  /** The cloud tiers this gateway calls itself, with their backends; any other tier goes to its queue. */
  backends: ReadonlyMap<Tier, DirectBackend>;
  /** Where paid calls are reserved. Default: the ledger, one request per attempt (the services' own reserveBudget). */
  budget?: InteractiveBudget;
  /** Names the gateway in the execution records of its calls. */
  workerId: string;
  log?: (line: string) => void;
}

export interface RunHooks {
  /** Each event of the task, in order, as it happens here (the bus has it by the end of the request). */
  onEvent(event: TaskEventMessage): void;
  onDelta?(delta: StreamDelta): void;
  /** Called before the task is handed to the routers: start following its events on the bus. */
  beforeHandover(): Promise<void>;
}

/** A task running in this process. */
interface Running {
  task: TaskInput;
  actor: AnyActorRef;
  /** What its machine asked to send, taken by its run. */
  dispatches: DispatchInput[];
  /** The reservations its attempts were granted here, settled when it ends. */
  grants: InteractiveGrant[];
  /** Aborts its call in flight (a cancel). */
  abort: AbortController;
  /** Resolves when its run has ended and its grants are settled. */
  done: Promise<void>;
}

/** What run() ends with: the task's final event, or null when the routers have it now. */
export type RunResult = TaskEventMessage | null;

/** How old the budget view may be for a request to route by it without asking the ledger first (the view's own limit is 5 s). */
const BUDGET_FRESH_MS = 2_000;

export class InteractivePath {
  private readonly machine;
  private readonly policy;
  private readonly driver: TaskDriver;
  private readonly calls: DirectCalls;
  /** The dispatches each running task's machine asked for, taken by its run. */
  /** Each task running here: what its machine asked for, and what it holds. */
  private readonly running = new Map<string, Running>();

  constructor(private readonly options: InteractivePathOptions) {
    const { config, services } = options;
    const budget = options.budget;
    const local: RoutingServices = {
      ...services,
      reserveBudget: async (request) => {
        const run = this.running.get(request.taskId);
        // Work that goes to a queue is reserved by the ledger for the task itself (the routers'
        // final event releases it); only calls made here are reserved from this gateway's slices.
        if (!budget || !run || !this.calls.canRun({ tier: request.tier, task: run.task })) return services.reserveBudget(request);
        const answer = await budget.reserve(request);
        if (!answer.granted) return answer;
        // The task ended while its grant was on its way (cancelled): nothing will use it.
        if (this.running.get(request.taskId) !== run) {
          answer.settle(0);
          return { granted: false, reason: 'the task ended before its reservation came' };
        }
        run.grants.push(answer);
        return { granted: true, reason: 'granted', reservationId: answer.reservationId };
      },
      dispatch: async (input) => {
        assertDispatchAllowed(input, config);
        this.running.get(input.task.taskId)?.dispatches.push(input);
      },
      abortWork: (taskId) => this.running.get(taskId)?.abort.abort(),
    };
    this.machine = createTaskMachine(tierPlanOf(config)).provide(createRoutingSteps(config, local));
    this.policy = taskPolicyOf(config);
    // Its machine is never run: it publishes a handed-over task's outbox as a router would.
    this.driver = new TaskDriver(options.store, options.js, config, services);
    this.calls = new DirectCalls({ nc: options.nc, js: options.js, config, backends: options.backends, workerId: options.workerId, log: options.log ?? (() => {}) });
  }

  /** Asks the ledger for the month's budget once before the first request. */
  ready(): Promise<void> {
    return this.options.services.ready();
  }

  /**
   * Waits for the tasks running here to end (a stopping gateway's clients are gone, so they are
   * cancelled; their records and charges are stored first), then gives back its budget slices.
   */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.options.budget?.stop?.();
  }

  /** The client went away: the task is cancelled where it runs (here, unless handed over). */
  cancel(taskId: string, reason: string): boolean {
    const run = this.running.get(taskId);
    if (!run) return false;
    run.actor.send({ type: 'CANCEL', reason });
    return true;
  }

  async run(task: TaskInput, hooks: RunHooks): Promise<RunResult> {
    const { taskId } = task;
    // Routed by the budget as heard within the last seconds: a busy gateway's view is refreshed
    // behind its requests and this waits for nothing; an idle one's asks the ledger once first.
    await this.options.services.budgetAnsweredSince?.(Date.now() - BUDGET_FRESH_MS);
    const records = new TaskRecords(this.options.nc, this.options.js, taskId);
    const actor = createActor(this.machine, { input: { task, policy: this.policy } });
    let done!: () => void;
    const run: Running = { task, actor, dispatches: [], grants: [], abort: new AbortController(), done: new Promise<void>((r) => { done = r; }) };
    this.running.set(taskId, run);
    let seq = 0;
    let skipped: ReturnType<typeof recordDifficultyOf> | undefined;
    const stepEvents = (snap: ReturnType<typeof actor.getSnapshot>): TaskEventMessage[] => {
      const events = eventsSince(snap, seq, { eventSeq: seq }, new Date().toISOString(), () => (skipped ??= recordDifficultyOf(task, this.options.config)));
      seq += events.length;
      for (const e of events) hooks.onEvent(e);
      return events;
    };
    try {
      actor.start();
      let last: TaskEventMessage | undefined;
      for (;;) {
        const snap = await waitFor(actor, isRest, { timeout: 60_000 });
        const events = stepEvents(snap);
        last = events.at(-1) ?? last;
        if (snap.status !== 'active') {
          records.events(events);
          await records.durable();
          this.settleRateLimit(snap.context.tier, taskId, last);
          return last!;
        }
        if (snap.hasTag('waiting')) {
          records.events(events);
          await new Promise((r) => setTimeout(r, Math.max(0, (snap.context.retryAt ?? 0) - Date.now())));
          actor.send({ type: 'RESUME', now: Date.now() });
          continue;
        }
        const dispatch = run.dispatches.shift();
        if (!dispatch) throw new Error(`task ${taskId} rests in ${JSON.stringify(snap.value)} with no work to send`);
        if (!this.calls.canRun(dispatch)) {
          // Everything the task has had so far is stored before the routers take it on.
          await records.durable();
          await hooks.beforeHandover();
          // Cancelled meanwhile (its client went away): it ends here, and no work goes out.
          if (actor.getSnapshot().status !== 'active') {
            records.events(events);
            continue;
          }
          await adoptTask(this.options.store, this.driver, { taskId, snapshot: actor.getPersistedSnapshot(), status: statusOf(snap), eventSeq: seq, events, dispatches: [dispatch] });
          return null;
        }
        records.events(events);
        const reports: Report[] = await this.calls.run(dispatch, records, hooks.onDelta, run.abort.signal);
        for (const report of reports) {
          for (const event of reportEvents(report)) {
            await waitFor(actor, isRest, { timeout: 60_000 });
            actor.send(event);
          }
        }
      }
    } finally {
      actor.stop();
      this.running.delete(taskId);
      // After the records are stored (or could not be): a grant's hold becomes what its calls cost.
      // Attempts granted from one slice share its id: their calls' cost is settled once.
      const settled = new Set<string>();
      for (const g of run.grants) {
        g.settle(settled.has(g.reservationId) ? 0 : records.chargedTo(g.reservationId));
        settled.add(g.reservationId);
      }
      done();
    }
  }

  /** The provider's token count replaces the estimate in the tier's window (behind the answer). */
  private settleRateLimit(tier: Tier | null, taskId: string, final: TaskEventMessage | undefined): void {
    const usage = final?.result?.usage;
    if (!tier || !usage || final?.status !== 'completed') return;
    this.options.rateLimits.settle(tier, taskId, usage.promptTokens + usage.completionTokens)
      .catch((e) => this.options.log?.(`gateway: settling the rate-limit window of ${taskId}: ${(e as Error).message}`));
  }
}

