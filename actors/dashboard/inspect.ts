/**
 * `--inspect`: replays the task events this dashboard sees into Stately's inspector, one
 * inspected actor of the task machine per task, so a task routed on any router host can be
 * watched in Stately's visualiser. Off by default: Stately's inspector is a web service, so this
 * needs internet access to stately.ai and sends the tasks' states (never prompts) there.
 */
import type { AnyEventObject, AnyStateMachine } from 'xstate';
import type { TaskEventMessage } from '../../src/bus/index.ts';
import { taskMachine } from '../../machines/task.machine.ts';
import { isFinalStatus } from '../../src/core/types.ts';

/** The part of an `@statelyai/inspect` Inspector the bridge uses. */
export interface InspectorLike {
  actor(actor: InspectedRef, snapshot?: object, info?: object): void;
  snapshot(actor: InspectedRef, snapshot: object, info?: { event?: AnyEventObject }): void;
  event(actor: InspectedRef, event: AnyEventObject, info?: object): void;
  stop?(): void;
}

/** What the inspector reads from an actor: its session id and its machine (for the definition). */
export interface InspectedRef {
  sessionId: string;
  id: string;
  logic: AnyStateMachine;
  send(): void;
  getSnapshot(): unknown;
}


/**
 * The machine's state value for an event's `state`, resolved by the machine itself (an unknown
 * name throws, so a renamed state shows up as an error rather than a wrong picture).
 * @example stateValueOf('QueueOrFallback1.Waiting') // => { QueueOrFallback1: 'Waiting' }
 */
export function stateValueOf(state: string, machine: AnyStateMachine = taskMachine): unknown {
  const parts = state.split('.');
  const value = parts.reduceRight<unknown>((inner, key) => (inner === undefined ? key : { [key]: inner }), undefined);
  return machine.resolveState({ value: value as string, context: {} }).value;
}

/**
 * @example
 * const bridge = new InspectBridge(createSkyInspector());
 * bridge.onTaskEvent(event); // for each live task event
 */
export class InspectBridge {
  private readonly refs = new Map<string, InspectedRef & { last: object }>();

  constructor(private readonly inspector: InspectorLike, private readonly maxActors = 200) {}

  /** Tasks being followed now. */
  get size(): number {
    return this.refs.size;
  }

  onTaskEvent(e: TaskEventMessage): void {
    const snapshot = {
      status: isFinalStatus(e.status) ? 'done' : 'active',
      value: stateValueOf(e.state),
      // What the page shows too: no prompt, no result text.
      context: { taskId: e.taskId, status: e.status, tier: e.tier, reason: e.reason, attempt: e.attempt, workerId: e.workerId, promptSummary: e.promptSummary },
    };
    let ref = this.refs.get(e.taskId);
    if (!ref) {
      ref = { sessionId: `koubou-task-${e.taskId}`, id: e.taskId, logic: taskMachine, send: () => {}, getSnapshot: () => ref!.last, last: snapshot };
      this.refs.set(e.taskId, ref);
      this.inspector.actor(ref, snapshot);
      if (this.refs.size > this.maxActors) this.refs.delete(this.refs.keys().next().value!);
    }
    ref.last = snapshot;
    const event = { type: `koubou.${e.state}`, seq: e.seq, reason: e.reason, at: e.at };
    this.inspector.event(ref, event);
    this.inspector.snapshot(ref, snapshot, { event });
    if (isFinalStatus(e.status)) this.refs.delete(e.taskId);
  }

  stop(): void {
    this.inspector.stop?.();
    this.refs.clear();
  }
}

/**
 * A bridge to Stately's hosted inspector. It prints the live inspection URL once connected.
 * Loaded only on `--inspect`, so the websocket client is never started otherwise.
 */
export async function skyInspectBridge(log: (line: string) => void): Promise<InspectBridge> {
  const { createSkyInspector } = await import('@statelyai/inspect');
  const inspector = createSkyInspector({ onerror: (e) => log(`dashboard: Stately inspector: ${e.message ?? String(e)}`) });
  return new InspectBridge(inspector as unknown as InspectorLike);
}
