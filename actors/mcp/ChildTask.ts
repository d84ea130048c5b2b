/**
 * One child of a master's session, as the MCP server knows it: followed on the event stream from
 * its submission to its final event, keeping what the tools report (the tier, each routing step's
 * reason, the fallbacks) and, for a repo task, the packed working tree its patch applies to.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { followTask, type TaskEventMessage } from '../../src/bus/index.ts';
import type { PackedWorkspace } from '../../src/workspace/index.ts';
import type { Fallback } from '../../src/mcp/toolSchemas.ts';

export interface ChildWorkspace { root: string; packed: PackedWorkspace }

/**
 * @example
 * const child = new ChildTask(nc, 'mcp-s1-1', null, (c) => notify(c));
 * child.follow();
 * await child.ended; // the final event
 */
export class ChildTask {
  readonly reasons: string[] = [];
  readonly fallbacks: Fallback[] = [];
  /** Tries again one tier up after failed tests (the Escalate state's events). */
  readonly escalations: { from: string; to: string; reason: string; phase: 'escalation' }[] = [];
  tier: string | null = null;
  status = 'pending';
  final: TaskEventMessage | null = null;
  readonly ended: Promise<TaskEventMessage | null>;
  /** Resolves once the child has a tier (or has ended without one). */
  readonly routed: Promise<void>;
  #routed: () => void = () => {};
  readonly #abort = new AbortController();
  #settle: (final: TaskEventMessage | null) => void = () => {};

  constructor(
    private readonly nc: NatsConnection,
    readonly taskId: string,
    readonly workspace: ChildWorkspace | null,
    private readonly onEnd: (child: ChildTask) => void,
  ) {
    this.ended = new Promise((resolve) => { this.#settle = resolve; });
    this.routed = new Promise((resolve) => { this.#routed = resolve; });
    void this.ended.then(() => this.#routed());
  }

  /** Starts following; the returned promise is `ended`. */
  follow(): Promise<TaskEventMessage | null> {
    void followTask(this.nc, this.taskId, {
      deliver: 'all', signal: this.#abort.signal,
      onEvent: (e) => {
        this.status = e.status;
        if (e.tier) { this.tier = e.tier; this.#routed(); }
        if (e.reason && this.reasons.at(-1) !== e.reason) this.reasons.push(e.reason);
        if (e.fallback) this.fallbacks.push(e.fallback);
        if (e.escalation) this.escalations.push({ from: e.escalation.from, to: e.escalation.to, reason: e.escalation.reason, phase: 'escalation' });
      },
    }).then((final) => {
      if (!final) return this.#settle(null);
      this.final = final;
      this.onEnd(this);
      this.#settle(final);
    }, () => this.#settle(null));
    return this.ended;
  }

  get done(): boolean { return this.final !== null; }

  /** The child's own calls, as its final event reports them (an agent's model requests are in the ledger's tree). */
  get costUsd(): number { return this.final?.result?.costUsd ?? 0; }

  stop(): void { this.#abort.abort(); }
}
