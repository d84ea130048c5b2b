/**
 * The dashboard actor: an HTTP server showing workers, tasks, costs, budget, fallbacks and the
 * task machine's statechart, updated live. It reads only: events and heartbeats from NATS (role
 * `dashboard`), figures from the ledger over NATS, or from its SQLite file read-only (`dbPath`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AnyStateMachine } from 'xstate';
import type { Heartbeat, TaskEventMessage } from '../../src/bus/index.ts';
import { prometheusText } from '../../src/dashboard/prometheus.ts';
import { statechartOf, type Statechart } from '../../src/dashboard/statechart.ts';
import { taskMachine } from '../../machines/task.machine.ts';
import type { WorkerRecord } from '../../src/db/index.ts';
import type { BudgetConfig } from '../ledger/queries.ts';
import { EventFollower, readTaskEvents } from './EventFollower.ts';
import { createHandler, loadStaticFiles, type DashboardRoutes } from './http.ts';
import { DashboardAccess, isLoopbackHost } from './access.ts';
import { InputError } from '../../src/core/errors.ts';
import { skyInspectBridge, type InspectBridge } from './inspect.ts';
import { natsLedgerSource, sqliteLedgerSource, type LedgerSource } from './ledgerSource.ts';
import { SseHub } from './SseHub.ts';
import { TaskIndex } from './TaskIndex.ts';
import { treeOf, treeViews } from './taskTreeView.ts';
import { hoursSinceMonthStart, metricsView, statusView, workerRows, type CostsView } from './views.ts';
import { isFinalStatus } from '../../src/core/types.ts';

/** How far back the ledger's trees are read: a master's session may run for days. */
const TREE_HOURS = 24 * 7;

/** What the dashboard reads from, and where it listens. */
export interface DashboardOptions {
  /** A connection as role `dashboard`; not closed by `stop()`. */
  nc: NatsConnection;
  /** Read the ledger's SQLite file (read-only) instead of asking the ledger over NATS. */
  dbPath?: string;
  /** Limit and threshold shown for a month the SQLite file has no row for yet (config `budget`). */
  budget?: BudgetConfig;
  /** The task machine of the config's tiers, whose statechart the page draws. Default: the default tiers'. */
  machine?: AnyStateMachine;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1; `0.0.0.0` serves the LAN. Anything but loopback admits only requests with a dashboard key. */
  host?: string;
  /** How long a checked dashboard key is trusted before the ledger is asked again (a revoked key works this long). Default 30 000 ms. */
  keyRecheckMs?: number;
  /** How far back the event stream is read at start. Default 24 h. */
  backfillHours?: number;
  /** Tasks kept in memory. Default 1000. */
  maxTasks?: number;
  /** How often the ledger's figures are pushed to open pages. Default 5000 ms. */
  refreshMs?: number;
  /** Replay live task events to Stately's inspector (needs internet): true for Stately's, or a bridge. */
  inspect?: boolean | InspectBridge;
  log?: (line: string) => void;
}

/**
 * @example
 * const dashboard = new Dashboard({ nc: await ctx.connect('dashboard'), port: 8787 });
 * const { url } = await dashboard.start();
 * // ... later
 * await dashboard.stop();
 */
export class Dashboard {
  /** Everything learnt from the event stream. */
  readonly index: TaskIndex;
  private readonly heartbeats = new Map<string, Heartbeat>();
  /** The ledger's worker registry as of the last refresh. */
  private registry: WorkerRecord[] = [];
  private readonly hub = new SseHub();
  private readonly log: (line: string) => void;
  private readonly chart: Statechart;
  private ledger: LedgerSource | null = null;
  private follower: EventFollower | null = null;
  private server: Server | null = null;
  private inspect: InspectBridge | null = null;
  private live = false;
  private stopped = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;

  constructor(private readonly options: DashboardOptions) {
    this.log = options.log ?? (() => {});
    this.index = new TaskIndex({ maxTasks: options.maxTasks ?? 1000, windowHours: 24 });
    this.chart = statechartOf(options.machine ?? taskMachine);
  }

  /** Reads the backfill, then listens. Resolves with the page's address. */
  async start(): Promise<{ url: string }> {
    const { nc, dbPath } = this.options;
    const files = loadStaticFiles();
    this.ledger = dbPath
      ? sqliteLedgerSource(dbPath, this.options.budget ?? { monthlyLimitUsd: 0, alertThresholdPercent: 80 })
      : natsLedgerSource(nc);
    const access = await this.access();
    if (this.options.inspect) this.inspect = this.options.inspect === true ? await skyInspectBridge(this.log) : this.options.inspect;
    this.follower = new EventFollower(nc, {
      onTaskEvent: (e) => this.onTaskEvent(e),
      onUsage: (u) => {
        if (!this.index.addUsage(u)) return;
        this.sendGroup(u.taskId);
        if (this.live) this.refreshSoon();
      },
      onRateLimit: (s) => { const item = this.index.addRateLimit(s); if (item) this.hub.send('feed', item); },
      onHeartbeat: (h) => this.onHeartbeat(h),
      onProgress: (p) => this.hub.send('progress', p),
      onCaughtUp: () => { this.live = true; },
    }, { backfillHours: this.options.backfillHours ?? 24, log: this.log });
    await this.follower.start();
    const server = createServer(createHandler(this.routes(), files, this.log, access ?? undefined));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 8787, this.options.host ?? '127.0.0.1', () => resolve());
    }).catch(async (e: unknown) => {
      await this.stop();
      throw e;
    });
    this.server = server;
    this.refreshTimer = setInterval(() => void this.push(), this.options.refreshMs ?? 5000);
    const { port, address } = this.server.address() as AddressInfo;
    // Listening on every interface: this host's own address is the one sure to work for the caller.
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
    return { url: `http://${host}:${port}/` };
  }

  /**
   * Off loopback, the gate every request passes (null on loopback). With no live dashboard key
   * nobody could get in, so the dashboard refuses to start and says how to make one.
   */
  private async access(): Promise<DashboardAccess | null> {
    const host = this.options.host ?? '127.0.0.1';
    if (isLoopbackHost(host)) return null;
    const ledger = this.ledger!;
    const { liveKeys } = await ledger.dashboardKey().catch(async (e: unknown) => {
      await this.stop();
      throw new InputError(`the dashboard listens on ${host}, not loopback, so it needs a dashboard key, and the ledger cannot say whether there is one (${(e as Error).message})`, { code: 'DASHBOARD_KEYS_UNKNOWN' });
    });
    if (liveKeys === 0) {
      await this.stop();
      throw new InputError(`the dashboard listens on ${host}, not loopback, and no dashboard key exists: make one with \`koubou keys dashboard create NAME\` (it prints the key once), or listen on 127.0.0.1`, { code: 'DASHBOARD_KEY_REQUIRED' });
    }
    return new DashboardAccess((digest) => ledger.dashboardKey(digest), this.options.keyRecheckMs);
  }

  /** Closes the pages' streams and the server, stops following NATS. Closes nothing it was given. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.soon) clearTimeout(this.soon);
    this.hub.close();
    if (this.server) {
      const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
      this.server.closeAllConnections();
      await closed;
    }
    await this.follower?.stop();
    this.inspect?.stop();
    this.ledger?.close();
  }

  private onTaskEvent(e: TaskEventMessage): void {
    const applied = this.index.addTaskEvent(e);
    if (!applied) return;
    // Pages get the state change at once; a final answer travels as an excerpt (the detail view fetches it).
    const { result, ...rest } = e;
    const event = result ? { ...rest, result: { ...result, text: applied.summary.resultExcerpt ?? '' } } : rest;
    this.hub.send('task', { event, summary: applied.summary });
    this.sendGroup(e.taskId);
    for (const item of applied.feed) this.hub.send('feed', item);
    if (this.live) {
      this.inspect?.onTaskEvent(e);
      if (isFinalStatus(e.status)) this.refreshSoon();
    }
  }

  /** The task's group row as it stands now, to open pages (its count or cost moved). */
  private sendGroup(taskId: string): void {
    if (this.hub.size === 0) return;
    const group = this.index.groupOf(taskId);
    if (group) this.hub.send('group', group);
  }

  private onHeartbeat(h: Heartbeat): void {
    this.heartbeats.set(h.workerId, h);
    // The registry from the last refresh: asking the ledger on every heartbeat would cost a query per worker every 2 s.
    if (this.hub.size) this.hub.send('worker', workerRows(this.registry, this.heartbeats, this.index).find((w) => w.workerId === h.workerId));
  }

  /** Money moved: push the ledger's figures shortly (coalescing a burst of events into one query). */
  private refreshSoon(): void {
    this.soon ??= setTimeout(() => { this.soon = null; void this.push(); }, 300);
  }

  /** The ledger's latest figures to every open page. */
  private async push(): Promise<void> {
    if (this.hub.size === 0) return;
    try {
      const [s, costs] = await Promise.all([this.ledger!.status(), this.routes().costs()]);
      this.registry = s.workers;
      const status = statusView(s, await this.byDifficulty(), this.ledger!.kind);
      this.hub.send('status', { status, metrics: metricsView(s), workers: workerRows(s.workers, this.heartbeats, this.index) });
      this.hub.send('costs', costs);
    } catch (e) {
      this.hub.send('ledger-error', { error: (e as Error).message, at: new Date().toISOString() });
    }
  }

  /** From the ledger's file when there is one; the NATS API has no such query, so else from the stream. */
  private async byDifficulty() {
    const ledger = this.ledger!;
    return ledger.tasksByStatusAndDifficulty ? ledger.tasksByStatusAndDifficulty(24) : this.index.countsByStatusAndDifficulty();
  }

  private routes(): DashboardRoutes {
    const ledger = this.ledger!;
    return {
      status: async () => statusView(await ledger.status(), await this.byDifficulty(), ledger.kind),
      metrics: async () => metricsView(await ledger.status()),
      workers: async () => {
        this.registry = (await ledger.status()).workers;
        return workerRows(this.registry, this.heartbeats, this.index);
      },
      tasks: (filter) => this.index.list(filter),
      sessions: (limit) => this.index.groups(limit),
      trees: async () => treeViews(await ledger.trees(TREE_HOURS), (id) => this.index.get(id)),
      task: async (taskId) => {
        const known = this.index.events(taskId);
        const events = known.complete ? known.events : await readTaskEvents(this.options.nc, taskId);
        const record = await ledger.task(taskId).catch(() => null);
        if (!events.length && !record) return null;
        // A parent (a master's session, an agent task) shows its children: the ledger's tree under it.
        const tree = record ? treeOf(await ledger.trees(TREE_HOURS).catch(() => []), taskId, (id) => this.index.get(id)) : null;
        return { summary: this.index.get(taskId) ?? summaryOf(events), events: events.map(redact), ledger: record, tree };
      },
      costs: async (): Promise<CostsView> => {
        const month = hoursSinceMonthStart();
        const [last24h, mtd] = await Promise.all([ledger.costs(24), ledger.costs(month.hours)]);
        return { last24h, monthToDate: { ...mtd, since: month.since }, hourly: this.index.hourlyCost() };
      },
      feed: (limit) => this.index.feed(limit),
      statechart: () => this.chart,
      prometheus: async () => prometheusText(await ledger.status()),
      events: (req, res) => this.hub.attach(req, res),
    };
  }
}

/** A confidential task's answer stays off the page, as its prompt stays off the event stream. */
function redact(e: TaskEventMessage): TaskEventMessage {
  if (!e.result || e.sensitivity?.level !== 'confidential') return e;
  return { ...e, result: { ...e.result, text: `[confidential: ${e.result.text.length} characters, not shown]` } };
}

/** The summary of a task older than the backfill, from its events read on demand. */
function summaryOf(events: TaskEventMessage[]) {
  const index = new TaskIndex();
  for (const e of events) index.addTaskEvent(e);
  return events[0] ? index.get(events[0].taskId) ?? null : null;
}
