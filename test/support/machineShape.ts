/**
 * A machine's shape as plain data: every state, and every transition as
 * "source --event[guard]--> targets", for comparing two machines state for state.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export interface MachineShape {
  states: string[];
  transitions: string[];
}

function guardLabel(guard: unknown): string {
  if (!guard) return '';
  if (typeof guard === 'string') return `[${guard}]`;
  if (typeof guard === 'function') return '[inline]';
  const g = guard as { type?: string; params?: unknown };
  return `[${g.type ?? 'inline'}${g.params && typeof g.params === 'object' ? ` ${JSON.stringify(g.params)}` : ''}]`;
}

export function machineShape(machine: AnyStateMachine): MachineShape {
  const states: string[] = [];
  const transitions: string[] = [];
  const visit = (node: AnyStateNode): void => {
    states.push(node.id);
    for (const [event, list] of node.transitions) {
      for (const t of list) transitions.push(`${node.id} --${event}${guardLabel(t.guard)}--> ${(t.target ?? []).map((n: AnyStateNode) => n.id).join(',') || '(self)'}`);
    }
    for (const t of node.always ?? []) transitions.push(`${node.id} --always${guardLabel(t.guard)}--> ${(t.target ?? []).map((n: AnyStateNode) => n.id).join(',') || '(self)'}`);
    for (const child of Object.values(node.states)) visit(child as AnyStateNode);
  };
  visit(machine.root);
  return { states: states.sort(), transitions: transitions.sort() };
}
