/**
 * Every NATS subject and stream koubou uses, in one place. docs/protocol.md
 * describes each; nats.conf's permissions name them too.
 */
import type { Tier } from '../core/types.ts';
import type { FrontDoor } from './frontDoor.ts';
import type { Lane } from './lane.ts';

export const STREAMS = {
  submit: 'KOUBOU_SUBMIT',
  work: 'KOUBOU_WORK',
  reports: 'KOUBOU_REPORTS',
  events: 'KOUBOU_EVENTS',
} as const;

/** KV buckets: task machine snapshots and rate-limit windows shared by routers. */
export const BUCKETS = {
  tasks: 'koubou_tasks', rateLimits: 'koubou_ratelimits',
  /** KV: the gateways' session state (confidential marks, agents' token counts; src/sessions). Only the gateway role writes it. */
  sessions: 'koubou_sessions',
  /** Object Store: workspaces as submitted, and patches (router, local workers, submitters). */
  workspaces: 'koubou_ws',
  /** Object Store: workspaces the router scanned and sent to a cloud tier (cloud workers read only these). */
  cloudWorkspaces: 'koubou_ws_cloud',
} as const;

export const SUBJECTS = {
  /** Submissions (JetStream, work queue; Nats-Msg-Id = task id). */
  submit: 'koubou.task.submit',
  /**
   * Submissions through a front door that authenticated its caller (JetStream KOUBOU_SUBMIT,
   * like `submit`). nats.conf lets only the door's own role publish its subject, so only here
   * may a task carry the fields that name a key, a session or a parent (frontDoors.ts).
   */
  doorSubmit: (door: FrontDoor) => `koubou.task.submit.door.${door}`,
  doorSubmitAll: 'koubou.task.submit.door.*',
  /**
   * Work for a tier (JetStream, work queue). Cloud tiers: one subject and one durable
   * consumer each, named after the tier. The local tier has a lane per kind of worker
   * it is placed for (see lanes.ts): `koubou.work.local.<lane>`, default `any`.
   */
  work: (tier: Tier, lane: Lane = 'any') => (tier === 'local' ? `koubou.work.local.${lane}` : `koubou.work.${tier}`),
  workAll: 'koubou.work.>',
  /** Agent work for a tier (JetStream, work queue): tasks with a workspace, for workers that run a coding agent. */
  agentWork: (tier: Tier) => `koubou.work.${tier}.agent`,
  /** Workers' and submitters' reports about a task, for the routers (JetStream, work queue). */
  report: (taskId: string) => `koubou.report.${taskId}`,
  reportAll: 'koubou.report.>',
  /**
   * Cancel requests (`koubou cancel`), for the routers (JetStream, KOUBOU_REPORTS). Apart
   * from the workers' reports so that nats.conf can let submitters cancel without letting
   * them forge a worker's result.
   */
  cancel: (taskId: string) => `koubou.cancel.${taskId}`,
  cancelAll: 'koubou.cancel.>',
  /** Every state change of a task (JetStream, limits). */
  taskEvent: (taskId: string) => `koubou.evt.task.${taskId}`,
  taskEventAll: 'koubou.evt.task.>',
  /** Token usage and cost of one provider call (JetStream; Nats-Msg-Id = usage id). */
  usage: 'koubou.evt.usage',
  /** How one execution of a task went on one worker, for worker_metrics (JetStream). */
  execution: 'koubou.evt.execution',
  /** Measured performance factors, from the ledger to the workers (core NATS). */
  performance: 'koubou.pool.performance',
  /** Provider rate-limit signals (headers, 429s) for the routers' shared limiter (JetStream). */
  rateLimit: (tier: Tier) => `koubou.evt.ratelimit.${tier}`,
  rateLimitAll: 'koubou.evt.ratelimit.>',
  /** Refused messages, with the reason (JetStream). */
  rejected: 'koubou.task.rejected',
  /** Worker heartbeats (core NATS). */
  heartbeat: (workerId: string) => `koubou.evt.worker.${workerId}`,
  heartbeatAll: 'koubou.evt.worker.>',
  /** Live generation progress (core NATS, not persisted). */
  progress: (taskId: string) => `koubou.progress.${taskId}`,
  progressAll: 'koubou.progress.>',
  /** The model's output as it streams, for the gateway (core NATS, not persisted). */
  stream: (taskId: string) => `koubou.stream.${taskId}`,
  streamAll: 'koubou.stream.>',
  /** Abort in-flight work for a task (core NATS, to workers). */
  abort: (taskId: string) => `koubou.ctl.abort.${taskId}`,
  abortAll: 'koubou.ctl.abort.*',
  /** Ledger request/reply. */
  budgetReserve: 'koubou.ledger.budget.reserve',
  budgetRelease: 'koubou.ledger.budget.release',
  ledgerQuery: (what: 'status' | 'costs' | 'budget' | 'task' | 'gatewayKey' | 'dashboardKey' | 'parent' | 'tree') => `koubou.ledger.query.${what}`,
  /** A gateway leases a budget slice of the month, and returns it (src/bus/sliceMessages.ts; only the gateway role may publish them). */
  sliceLease: 'koubou.ledger.slice.lease',
  sliceReturn: 'koubou.ledger.slice.return',
  /** A front door opens a session as a parent task with its money cap (only the MCP role may publish it). */
  parentOpen: 'koubou.ledger.parent.open',
  /** A front door tells the ledger its session has ended (only the MCP role may publish it). */
  parentClose: 'koubou.ledger.parent.close',
} as const;

/** Task ids become subject tokens: only characters that are safe there. */
export const SAFE_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
