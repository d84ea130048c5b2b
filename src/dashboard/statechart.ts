/**
 * The task machine's statechart as positioned boxes and edges, computed FROM the machine
 * definition (`machine.root` and each state node's transitions) every time it is asked for, so
 * the picture cannot drift from the code. The dashboard serves this as `GET /api/statechart` and
 * the page only draws it.
 *
 * Layout: the children of every state (the machine's top level, then each compound state's
 * children inside its box) are put in layers by a breadth-first search from that level's initial
 * state over the transitions between siblings; final states share the last layer. Layers are rows,
 * top to bottom; within a row, a few barycenter sweeps order nodes near their predecessors.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { edgesOf, type ChartEdge } from './statechartEdges.ts';

export type { ChartEdge } from './statechartEdges.ts';

/** One state, positioned in absolute chart coordinates (top-left corner, size). */
export interface ChartNode {
  /** The dotted path from the root, e.g. `QueueOrFallback1.Waiting`: what task events carry in `state`. */
  id: string;
  /** The state's own key, e.g. `Waiting`. */
  label: string;
  /** The enclosing state's id; null for top-level states. */
  parent: string | null;
  type: AnyStateNode['type'];
  /** The initial state of its parent (or of the machine). */
  initial: boolean;
  /** Its BFS layer among its siblings. */
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The whole chart: what `GET /api/statechart` returns. */
export interface Statechart {
  machineId: string;
  /** The id of the machine's initial state. */
  initial: string;
  width: number;
  height: number;
  /** Parents before their children (draw order). */
  nodes: ChartNode[];
  edges: ChartEdge[];
}

const NODE_H = 34;
const CHAR_W = 7.4;
const MIN_W = 92;
const GAP_X = 28;
const GAP_Y = 56;
const BOX_PAD = 14;
const BOX_TITLE = 26;
const MARGIN = { left: 48, top: 36, right: 96, bottom: 28 };
const SWEEPS = 3;

/** A state node being laid out: its size, and its position relative to its parent's content. */
interface Box {
  node: AnyStateNode;
  id: string;
  w: number;
  h: number;
  x: number;
  y: number;
  layer: number;
  children: Box[];
}

const idOf = (node: AnyStateNode): string => node.path.join('.');
const labelWidth = (label: string): number => Math.max(MIN_W, Math.ceil(label.length * CHAR_W) + 28);

/** Every transition defined on `node` or any state inside it. */
function transitionsWithin(node: AnyStateNode): { source: AnyStateNode; targets: AnyStateNode[] }[] {
  const out: { source: AnyStateNode; targets: AnyStateNode[] }[] = [];
  const visit = (n: AnyStateNode) => {
    for (const list of n.transitions.values()) for (const t of list) out.push({ source: n, targets: [...(t.target ?? [])] });
    for (const t of n.always ?? []) out.push({ source: n, targets: [...(t.target ?? [])] });
    for (const child of Object.values(n.states) as AnyStateNode[]) visit(child);
  };
  visit(node);
  return out;
}

/** True when `inner` is `outer` or lies inside it. */
const within = (inner: AnyStateNode, outer: AnyStateNode): boolean =>
  inner.path.length >= outer.path.length && outer.path.every((k, i) => inner.path[i] === k);

function measure(node: AnyStateNode): Box {
  const children = (Object.values(node.states) as AnyStateNode[]).map(measure);
  const box: Box = { node, id: idOf(node), w: labelWidth(node.key), h: NODE_H, x: 0, y: 0, layer: 0, children };
  if (children.length) {
    const inner = arrange(node, children);
    box.w = Math.max(box.w, inner.w + 2 * BOX_PAD);
    box.h = inner.h + BOX_TITLE + BOX_PAD;
    for (const c of children) { c.x += (box.w - inner.w) / 2; c.y += BOX_TITLE; }
  }
  return box;
}

/** Layers of the siblings by BFS from the initial one; final (and unreachable) states go last. */
function layer(parent: AnyStateNode, boxes: Box[]): Map<Box, Box[]> {
  const successors = new Map<Box, Box[]>(boxes.map((b) => [b, []]));
  for (const b of boxes) {
    for (const { targets } of transitionsWithin(b.node)) {
      for (const target of targets) {
        const to = boxes.find((s) => within(target, s.node));
        if (to && to !== b && !successors.get(b)!.includes(to)) successors.get(b)!.push(to);
      }
    }
  }
  const start = boxes.find((b) => parent.initial?.target.some((t: AnyStateNode) => within(t, b.node))) ?? boxes[0]!;
  const depth = new Map<Box, number>([[start, 0]]);
  for (const queue = [start]; queue.length;) {
    const b = queue.shift()!;
    for (const next of successors.get(b)!) {
      if (!depth.has(next)) { depth.set(next, depth.get(b)! + 1); queue.push(next); }
    }
  }
  const last = 1 + Math.max(0, ...boxes.filter((b) => b.node.type !== 'final' && depth.has(b)).map((b) => depth.get(b)!));
  for (const b of boxes) b.layer = b.node.type === 'final' || !depth.has(b) ? last : depth.get(b)!;
  return successors;
}

/** Positions `boxes` (siblings under `parent`) relative to (0, 0); returns the area they take. */
function arrange(parent: AnyStateNode, boxes: Box[]): { w: number; h: number } {
  const successors = layer(parent, boxes);
  const rows: Box[][] = [];
  for (const b of boxes) (rows[b.layer] ??= []).push(b);
  const filled = rows.filter((r) => r !== undefined);
  // Barycenter sweeps: sort each row by the mean relative position of its predecessors above.
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    for (let r = 1; r < filled.length; r++) {
      const above = filled[r - 1]!;
      const key = new Map(filled[r]!.map((b, i) => {
        const preds = above.filter((a) => successors.get(a)!.includes(b));
        const rel = (i: number, n: number) => (n > 1 ? i / (n - 1) : 0.5);
        return [b, preds.length ? preds.reduce((s, p) => s + rel(above.indexOf(p), above.length), 0) / preds.length : rel(i, filled[r]!.length)];
      }));
      filled[r]!.sort((a, b) => key.get(a)! - key.get(b)!);
    }
  }
  const rowWidth = (row: Box[]) => row.reduce((s, b) => s + b.w, 0) + GAP_X * (row.length - 1);
  const w = Math.max(...filled.map(rowWidth));
  let y = 0;
  for (const row of filled) {
    const rowH = Math.max(...row.map((b) => b.h));
    let x = (w - rowWidth(row)) / 2;
    for (const b of row) { b.x = x; b.y = y + (rowH - b.h) / 2; x += b.w + GAP_X; }
    y += rowH + GAP_Y;
  }
  return { w, h: y - GAP_Y };
}

/**
 * Lays out `machine`'s statechart.
 *
 * @example
 * const chart = statechartOf(taskMachine);
 * chart.nodes.find((n) => n.id === 'QueueOrFallback1.Waiting')?.parent // => 'QueueOrFallback1'
 */
export function statechartOf(machine: AnyStateMachine): Statechart {
  const root = machine.root as AnyStateNode;
  const top = (Object.values(root.states) as AnyStateNode[]).map(measure);
  const area = arrange(root, top);
  const nodes: ChartNode[] = [];
  const boxes = new Map<string, ChartNode>();
  const place = (b: Box, ox: number, oy: number, parent: AnyStateNode | null) => {
    const n: ChartNode = {
      id: b.id, label: b.node.key, parent: parent && parent !== root ? idOf(parent) : null, type: b.node.type,
      initial: (parent ?? root).initial?.target.some((t: AnyStateNode) => t === b.node) ?? false,
      layer: b.layer, x: Math.round(ox + b.x), y: Math.round(oy + b.y), width: Math.round(b.w), height: Math.round(b.h),
    };
    nodes.push(n);
    boxes.set(n.id, n);
    for (const c of b.children) place(c, ox + b.x, oy + b.y, b.node);
  };
  for (const b of top) place(b, MARGIN.left, MARGIN.top, root);
  const initial = idOf(root.initial!.target[0]!);
  return {
    machineId: machine.id,
    initial,
    width: Math.round(area.w + MARGIN.left + MARGIN.right),
    height: Math.round(area.h + MARGIN.top + MARGIN.bottom),
    nodes,
    edges: edgesOf(root, boxes),
  };
}
