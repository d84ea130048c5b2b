/**
 * A master's session: the parent task of every subtask the master delegates through `koubou mcp`.
 * It submits children through the MCP front door (parentTaskId set here, never by the caller),
 * follows them, tells the master when one ends, and hands back results and patches. Only this
 * session's children are its to wait on, read, apply or cancel.
 */
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, encode, publishSubmission, SUBJECTS } from '../../src/bus/index.ts';
import { InputError, KoubouError } from '../../src/core/errors.ts';
import { parseTaskInput } from '../../src/core/taskInput.ts';
import type { TaskInput } from '../../src/core/types.ts';
import { applyPatch, attachWorkspace, commitOnBranch } from '../../src/cli/submitRepo.ts';
import { getObject } from '../../src/workspace/index.ts';
import type { ParentEnd } from '../../src/db/parentCaps.ts';
import { refuseOverChildCaps, type SessionCaps } from '../../src/mcp/sessionCaps.ts';
import type {
  ApplyInput, ApplyOutput, CancelOutput, DelegateInput, DelegateOutput, ResultOutput, StatusOutput, WaitInput, WaitOutput,
} from '../../src/mcp/toolSchemas.ts';
import { ChildTask } from './ChildTask.ts';
import type { ParentLedger } from './ParentLedger.ts';

export interface MasterSessionOptions {
  nc: NatsConnection;
  doorKey: string;
  caps: SessionCaps;
  ledger: ParentLedger;
  /** The largest workspace a repo child may pack. */
  maxWorkspaceBytes?: number;
  /** Told when a child ends (the MCP server notifies its client). */
  onChildEnded?(child: ChildTask): void;
  /** The session's id; default a fresh `mcp-…`. */
  sessionId?: string;
}

const DEFAULT_WAIT_SECONDS = 600;
/** How long delegate waits for the routing decision before answering without a tier. */
const ROUTED_WAIT_MS = 15_000;

/**
 * @example
 * const session = new MasterSession({ nc, doorKey, caps, ledger });
 * await session.open();
 * const { taskId } = await session.delegate({ prompt: 'add a total() helper', repo: '.' });
 * await session.wait({ taskIds: [taskId] });
 * session.apply({ taskId });
 */
export class MasterSession {
  readonly id: string;
  readonly #children = new Map<string, ChildTask>();
  #next = 0;
  /** Children being prepared (a repo child's tree being packed): they hold a slot under the caps. */
  #packing = 0;

  constructor(private readonly opts: MasterSessionOptions) {
    this.id = opts.sessionId ?? `mcp-${randomBytes(6).toString('hex')}`;
  }

  /** Registers the session with the ledger as a parent task, with its money cap. */
  async open(): Promise<void> {
    await this.opts.ledger.open(this.id, this.opts.caps.usd);
  }

  async delegate(input: DelegateInput): Promise<DelegateOutput> {
    if (input.test !== undefined && input.repo === undefined) throw new InputError('test: goes with repo (the tests run in the agent\'s copy of the working tree)');
    // The caps' check and the child's slot are one step: delegates in parallel (a repo child packs
    // its tree before it is submitted) each count the slots the others hold, so they cannot all pass.
    const inFlight = [...this.#children.values()].filter((c) => !c.done).length + this.#packing;
    refuseOverChildCaps(this.opts.caps, { inFlight, total: this.#children.size + this.#packing });
    const taskId = `${this.id}-${++this.#next}`;
    this.#packing += 1;
    let task: TaskInput;
    let workspace = null;
    try {
      task = parseTaskInput({
        taskId, prompt: input.prompt, parentTaskId: this.id,
        ...(input.type ? { type: input.type } : {}), ...(input.priority ? { priority: input.priority } : {}),
        ...(input.files ? { files: input.files } : {}), ...(input.tier ? { pinnedTier: input.tier } : {}),
      });
      if (input.repo !== undefined) {
        const attached = await attachWorkspace(this.opts.nc, task, {
          repo: input.repo, ...(input.test ? { test: input.test } : {}),
          ...(this.opts.maxWorkspaceBytes ? { maxBytes: this.opts.maxWorkspaceBytes } : {}),
        }, () => {});
        task = attached.task;
        workspace = { root: attached.root, packed: attached.packed };
      }
    } finally {
      this.#packing -= 1;
    }
    // No await from the slot's release above to the child's registration here.
    const child = new ChildTask(this.opts.nc, taskId, workspace, (c) => this.opts.onChildEnded?.(c));
    this.#children.set(taskId, child);
    try {
      await publishSubmission(jetstream(this.opts.nc), task, { door: { name: 'mcp', key: this.opts.doorKey } });
    } catch (e) {
      // A refusal means it was never submitted: it holds no slot. A publish that timed out may
      // have been stored all the same (the router would run it, charged under this session), so
      // the child keeps its slot and is followed; a retry is safe under the submission's msgID.
      if ((e as { code?: string }).code !== 'SUBMIT_FAILED') this.#children.delete(taskId);
      else child.follow();
      throw e;
    }
    child.follow();
    // A router that is down or busy must not hold the master: it hears the tier from wait or status.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([child.routed, new Promise<void>((resolve) => { timer = setTimeout(resolve, ROUTED_WAIT_MS); })]);
    clearTimeout(timer);
    return { taskId, tier: child.tier, reasons: [...child.reasons] };
  }

  async wait(input: WaitInput): Promise<WaitOutput> {
    const children = input.taskIds.map((id) => this.child(id));
    const seconds = input.timeoutSeconds ?? DEFAULT_WAIT_SECONDS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, seconds * 1000); });
    const ends = children.map((c) => c.ended);
    await Promise.race([timeout, input.any ? Promise.race(ends) : Promise.all(ends)]);
    clearTimeout(timer);
    const ended = children.filter((c) => c.done);
    return {
      ended: ended.map((c) => ({ taskId: c.taskId, status: c.status, tier: c.tier, fallbacks: c.fallbacks, costUsd: c.costUsd })),
      pending: children.filter((c) => !c.done).map((c) => c.taskId),
      timedOut: ended.length < children.length && !(input.any && ended.length > 0),
    };
  }

  async result(taskId: string): Promise<ResultOutput> {
    const c = this.child(taskId);
    const r = c.final?.result;
    const agent = r?.agent;
    const test = agent?.test;
    return {
      taskId, status: c.status, tier: c.tier, text: r?.text ?? '',
      diffstat: agent ? agent.diffstat : null, patch: await this.patchOf(c), patchObject: agent?.patchObject ?? null,
      test: test ? { command: test.command, exitCode: test.exitCode, passed: test.exitCode === 0, output: test.output } : null,
      fallbacks: [...c.fallbacks], escalations: [...c.escalations],
      costUsd: c.costUsd, reasons: [...c.reasons],
      error: c.final?.error ? { code: c.final.error.code, message: c.final.error.message } : null,
    };
  }

  async apply(input: ApplyInput): Promise<ApplyOutput> {
    const c = this.child(input.taskId);
    if (!c.workspace) throw new InputError(`taskId: ${input.taskId} was not delegated with repo: it has no patch to apply`, { code: 'NO_PATCH' });
    if (c.status !== 'completed') throw new InputError(`taskId: ${input.taskId} is ${c.status}, not completed: nothing to apply yet (wait for it)`, { code: 'NOT_COMPLETED' });
    const patch = (await this.patchOf(c)) ?? '';
    const files = c.final?.result?.agent?.filesChanged ?? [];
    if (input.branch !== undefined) {
      const commit = commitOnBranch(c.workspace.root, c.workspace.packed, patch, input.branch, `${input.taskId}: koubou subtask on ${c.tier}\n\nkoubou task ${input.taskId}, child of ${this.id}`);
      return { taskId: input.taskId, applied: true, where: c.workspace.root, branch: input.branch, commit, files };
    }
    applyPatch(c.workspace.root, patch);
    return { taskId: input.taskId, applied: patch !== '', where: c.workspace.root, branch: null, commit: null, files };
  }

  async cancel(taskId: string): Promise<CancelOutput> {
    const c = this.child(taskId);
    if (c.done) return { taskId, cancelled: false, status: c.status };
    await jetstream(this.opts.nc).publish(SUBJECTS.cancel(taskId), encode({ kind: 'cancel', taskId, reason: `cancelled by the master (${this.id})`, at: new Date().toISOString() }));
    return { taskId, cancelled: true, status: c.status };
  }

  async status(): Promise<StatusOutput> {
    const children = [...this.#children.values()];
    const [parent, month] = await Promise.all([this.opts.ledger.spend(this.id), this.opts.ledger.month()]);
    return {
      session: this.id,
      children: children.map((c) => ({ taskId: c.taskId, status: c.status, tier: c.tier, costUsd: c.costUsd })),
      spentUsd: parent?.spentUsd ?? children.reduce((n, c) => n + c.costUsd, 0),
      inFlight: children.filter((c) => !c.done).length, total: children.length,
      caps: this.opts.caps, month,
    };
  }

  /**
   * The session's end (its client closed stdio, or the server was stopped): stops following the
   * children and marks the session ended in the ledger. The children run on to their end (their
   * reservations still count against the session's cap; `koubou watch --parent` follows them).
   * A ledger that does not answer leaves the row as it was, and the error is thrown.
   */
  async close(end: ParentEnd): Promise<void> {
    for (const c of this.#children.values()) c.stop();
    await this.opts.ledger.close(this.id, end);
  }

  /** A child of this session; a task id of another session (or none) is refused. */
  private child(taskId: string): ChildTask {
    const c = this.#children.get(taskId);
    if (!c) throw new InputError(`taskId: ${taskId} is not a subtask of this session (${this.id}): a master reads and changes only its own children`, { code: 'FOREIGN_TASK' });
    return c;
  }

  private async patchOf(c: ChildTask): Promise<string | null> {
    const r = c.final?.result;
    if (!r) return null;
    if (r.patch !== undefined) return r.patch;
    const object = r.agent?.patchObject;
    if (!object) return r.agent ? '' : null;
    const data = await getObject(this.opts.nc, BUCKETS.workspaces, object);
    if (!data) throw new KoubouError('PATCH_GONE', `the patch of ${c.taskId} is no longer in the ${BUCKETS.workspaces} bucket (kept a day)`);
    return new TextDecoder().decode(data);
  }
}
