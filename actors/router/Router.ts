import { jetstream, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ensureWorkspaceBuckets } from '../../src/workspace/index.ts';
import { ensureSessionBucket } from '../../src/sessions/index.ts';
import {
  BUCKETS, CONSUMERS, decode, encode, ensureStreamReplicas, ensureStreams, MessageError, rateLimitSignalSchema, reportSchema, STREAMS,
  SUBJECTS, replicasFor, streamOptionsFrom, submissionSchema, type Report, type StreamOptions,
} from '../../src/bus/index.ts';
import { identityRefusal } from './identityRefusal.ts';
import type { KoubouConfig } from '../../src/config/index.ts';
import { reportEvents } from '../../src/routing/index.ts';
import { natsRoutingServices } from './NatsRoutingServices.ts';
import { RateLimitStore } from './RateLimitStore.ts';
import { TaskDriver, type DriveAction, type HotCacheLimits } from './TaskDriver.ts';
import { TaskStore } from './TaskStore.ts';
import { isFinalStatus } from '../../src/core/types.ts';

export interface RouterOptions {
  nc: NatsConnection;
  config: KoubouConfig;
  /** Names this router in logs and rejections. Default `router-<pid>`. */
  routerId?: string;
  /** Messages handled at once. Default 64. */
  concurrency?: number;
  /** How long to wait for the ledger. Default 2000 ms. */
  ledgerTimeoutMs?: number;
  /** Stream settings, when this router creates them. */
  streams?: StreamOptions;
  /** Bounds of the cache of live machines of tasks waiting for a worker. Defaults in TaskDriver. */
  hotCache?: HotCacheLimits;
  /** The key front doors seal their submissions with (`KOUBOU_DOOR_KEY`); without it, theirs are refused. */
  doorKey?: string;
  log?: (line: string) => void;
}

/**
 * The router actor: takes submissions, runs one task machine per task, sends
 * work to the tiers' queues and follows the workers' reports. Task state lives
 * in NATS KV, so any router can continue any task, and a restarted router
 * picks up where it was.
 *
 * @example
 * const router = new Router({ nc, config });
 * await router.start();
 * // ... later
 * await router.stop();
 */
export class Router {
  readonly routerId: string;
  private js!: JetStreamClient;
  private driver!: TaskDriver;
  private store!: TaskStore;
  private rateLimits!: RateLimitStore;
  private readonly iterators: ConsumerMessages[] = [];
  private readonly subs: Subscription[] = [];
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly log: (line: string) => void;
  private stopping = false;
  /** Copies JetStream keeps of the streams and buckets, as decided at start (1 until then). */
  replicas = 1;

  constructor(private readonly options: RouterOptions) {
    this.routerId = options.routerId ?? `router-${process.pid}`;
    this.log = options.log ?? (() => {});
  }

  async start(): Promise<void> {
    const { nc, config } = this.options;
    const streams = this.options.streams ?? streamOptionsFrom(config);
    const jsm = await ensureStreams(nc, streams);
    this.replicas = replicasFor(nc, streams.replicas);
    await ensureWorkspaceBuckets(nc, this.replicas);
    // The gateways' session state: their role may use the bucket, not create it.
    await ensureSessionBucket(nc, this.replicas);
    this.js = jetstream(nc);
    const kvm = new Kvm(this.js);
    const bucket = async (name: string) => {
      const kv = await kvm.create(name, { history: 1, replicas: this.replicas });
      await ensureStreamReplicas(jsm, `KV_${name}`, this.replicas);
      return kv;
    };
    this.store = new TaskStore(await bucket(BUCKETS.tasks));
    this.rateLimits = new RateLimitStore(await bucket(BUCKETS.rateLimits), config);
    const services = natsRoutingServices({ nc, js: this.js, config, rateLimits: this.rateLimits, ledgerTimeoutMs: this.options.ledgerTimeoutMs, doorKey: this.options.doorKey });
    this.driver = new TaskDriver(this.store, this.js, config, services, this.options.hotCache);
    await services.ready();
    await this.recover();
    this.subs.push(nc.subscribe(SUBJECTS.rateLimitAll, { callback: (err, m) => { if (!err) this.onRateLimitSignal(m.data, m.subject); } }));
    await this.consume(STREAMS.submit, CONSUMERS.submissions, (m) => this.onSubmission(m));
    await this.consume(STREAMS.reports, CONSUMERS.reports, (m) => this.onReport(m));
  }

  /** What the cache of live machines (tasks waiting for a worker) holds now. */
  hotCache(): { tasks: number; bytes: number } {
    return this.driver?.hotCache() ?? { tasks: 0, bytes: 0 };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const it of this.iterators) it.stop();
    for (const s of this.subs) s.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
    this.driver?.dropHot();
  }

  /**
   * Handles a durable consumer's messages, at most `concurrency` at once.
   * `consume()` keeps pulls topped up and recovers from missed heartbeats; if
   * its iterator ever ends while the router runs (consumer gone, connection
   * trouble), a new one is started.
   */
  private async consume(stream: string, durable: string, handle: (m: JsMsg) => Promise<void>): Promise<void> {
    const consumer = await this.js.consumers.get(stream, durable);
    const concurrency = this.options.concurrency ?? 64;
    const running = new Set<Promise<unknown>>();
    void (async () => {
      let failures = 0;
      while (!this.stopping) {
        try {
          // Pulls of 5 s (heartbeats every 2.5 s): a pull left with a cluster node that died is
          // noticed and made again on another node within seconds, not the default 30.
          const messages = await consumer.consume({ max_messages: concurrency, expires: 5_000 });
          this.iterators.push(messages);
          try {
            for await (const m of messages) {
              failures = 0;
              const p = handle(m).catch((e) => {
                this.log(`router: ${m.subject}: ${(e as Error).message}; will retry`);
                m.nak(1000);
              });
              running.add(p);
              this.track(p);
              void p.finally(() => running.delete(p));
              while (running.size >= concurrency) await Promise.race(running);
            }
          } finally {
            this.iterators.splice(this.iterators.indexOf(messages), 1);
          }
        } catch (e) {
          if (this.options.nc.isClosed()) return;
          if (failures++ === 0) this.log(`router: pulling ${stream} failed (${(e as Error).message}); retrying`);
        }
        if (!this.stopping) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(failures, 5))));
      }
    })();
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** One task is moved by one drive at a time in this router (other routers are held off by compare-and-set). */
  private serialize<T>(taskId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(taskId) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.chains.set(taskId, next);
    void next.finally(() => { if (this.chains.get(taskId) === next) this.chains.delete(taskId); }).catch(() => {});
    return next;
  }

  private async drive(taskId: string, action: DriveAction) {
    const out = await this.serialize(taskId, () => this.driver.drive(taskId, action));
    if (out.retryAt != null) this.schedule(taskId, out.retryAt);
    return out;
  }

  private schedule(taskId: string, at: number): void {
    if (this.stopping) return;
    clearTimeout(this.timers.get(taskId));
    this.timers.set(taskId, setTimeout(() => {
      this.timers.delete(taskId);
      this.resume(taskId);
    }, Math.max(0, at - Date.now())));
  }

  /** Moves a task on with no message behind it (a due wait, recovery); a failure is retried, not dropped. */
  private resume(taskId: string): void {
    this.track(this.drive(taskId, { kind: 'resume' }).catch((e) => {
      this.log(`router: resume ${taskId}: ${(e as Error).message}; retrying in 1 s`);
      this.schedule(taskId, Date.now() + 1000);
    }));
  }

  private async onSubmission(m: JsMsg): Promise<void> {
    let submission;
    try {
      submission = decode(submissionSchema, m.data, m.subject);
    } catch (e) {
      await this.reject(m, e);
      return;
    }
    // Fields naming a key, a session or a parent come only through a front door: refused, and named, otherwise.
    const refusal = identityRefusal(m, submission, this.options.doorKey);
    if (refusal) return this.refuse(m, refusal, submission.taskId);
    const out = await this.drive(submission.taskId, { kind: 'create', task: submission, submitSeq: m.seq });
    if (out.outcome === 'duplicate') {
      await this.publishRejection(m.subject, `duplicate task id ${submission.taskId}: it was submitted before and runs once`, submission.taskId, m.data);
    }
    m.ack();
  }

  private async onReport(m: JsMsg): Promise<void> {
    let report: Report;
    try {
      report = decode(reportSchema, m.data, m.subject);
    } catch (e) {
      await this.reject(m, e);
      return;
    }
    // Cancels come on koubou.cancel.*, results on koubou.report.*: nats.conf lets submitters
    // publish the first and not the second, so each subject takes only its own kind.
    const isCancelSubject = m.subject.startsWith(SUBJECTS.cancel(''));
    if (isCancelSubject !== (report.kind === 'cancel') || !m.subject.endsWith(`.${report.taskId}`)) {
      await this.reject(m, new MessageError(`${m.subject}: a "${report.kind}" report for task ${report.taskId} does not belong on this subject`, ''));
      return;
    }
    const out = await this.drive(report.taskId, { kind: 'event', events: reportEvents(report) });
    if (report.kind === 'completed' && report.result.usage && out.outcome === 'driven' && out.tier) {
      // The tier's TPM window now holds what the provider counted, not the routing estimate.
      const { promptTokens, completionTokens } = report.result.usage;
      this.track(this.rateLimits.settle(out.tier, report.taskId, promptTokens + completionTokens)
        .catch((e) => this.log(`router: settling the rate-limit window of ${report.taskId}: ${(e as Error).message}`)));
    }
    if (out.outcome === 'unknown') {
      await this.publishRejection(m.subject, `unknown task ${report.taskId}`, report.taskId, m.data);
    }
    m.ack();
  }

  private onRateLimitSignal(data: Uint8Array, subject: string): void {
    try {
      const signal = decode(rateLimitSignalSchema, data, subject);
      this.track(this.rateLimits.applySignal(signal.tier, signal, Date.now()).catch((e) => this.log(`router: ${subject}: ${(e as Error).message}`)));
    } catch (e) {
      this.log(`router: ignored ${subject}: ${(e as Error).message}`);
    }
  }

  /** After a restart: unpublished effects go out, timers are re-armed and tasks caught mid-routing continue. */
  private async recover(): Promise<void> {
    let resumed = 0;
    for await (const taskId of this.store.keys()) {
      const stored = await this.store.get(taskId);
      if (!stored) continue;
      // A router that crashed between saving a record and publishing its effects: publish
      // them now (final tasks too, or their last event is never seen); a failure is left to
      // the resume below, whose drive publishes them first.
      if (stored.record.outbox) await this.serialize(taskId, () => this.driver.flushOutbox(taskId, stored)).catch(() => {});
      if (isFinalStatus(stored.record.status)) continue;
      if (stored.record.retryAt !== null) this.schedule(taskId, stored.record.retryAt);
      else this.resume(taskId);
      resumed += 1;
    }
    if (resumed > 0) this.log(`router ${this.routerId}: resuming ${resumed} unfinished task(s)`);
  }

  private async reject(m: JsMsg, e: unknown): Promise<void> {
    if (!(e instanceof MessageError)) throw e;
    await this.refuse(m, e.message, null);
  }

  private async refuse(m: JsMsg, reason: string, taskId: string | null): Promise<void> {
    await this.publishRejection(m.subject, reason, taskId, m.data);
    m.term();
  }

  private async publishRejection(subject: string, reason: string, taskId: string | null, data: Uint8Array): Promise<void> {
    this.log(`router: rejected ${subject}: ${reason}`);
    await this.js.publish(SUBJECTS.rejected, encode({
      subject, reason, taskId, excerpt: new TextDecoder().decode(data.subarray(0, 400)).slice(0, 200), by: this.routerId, at: new Date().toISOString(),
    }));
  }
}
