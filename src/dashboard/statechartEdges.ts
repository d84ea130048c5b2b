/**
 * The statechart's edges: every transition of every state node (events, eventless `always`,
 * invoke done/error, delayed `after`), merged per source and target, with an SVG path computed
 * from the positioned boxes so the page only has to draw it.
 */
import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** A transition (or several between the same two states), ready to draw. */
export interface ChartEdge {
  /** `source->target`. */
  id: string;
  /** The state it leaves; null for an initial marker or a transition of the machine itself (any state). */
  source: string | null;
  target: string;
  kind: 'initial' | 'transition' | 'global';
  /** The events (and named guards) that take it, e.g. `checkRateLimit done · always [mustStayLocal]`. */
  label: string;
  /** SVG path data in chart coordinates. */
  path: string;
  /** Where the path starts (the initial dot) and where its label goes. */
  fromX: number;
  fromY: number;
  labelX: number;
  labelY: number;
}

/** The part of a positioned node the geometry needs. */
export interface EdgeBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Raw {
  source: string | null;
  target: string;
  kind: ChartEdge['kind'];
  labels: string[];
}

const idOf = (node: AnyStateNode): string => node.path.join('.');

/** A short, readable name for a transition's event type and guard. */
export function transitionLabel(eventType: string, guard: unknown): string {
  const m = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  const event = eventType === '' ? 'always' : m ? `${m[2]} ${m[1]}` : after ? `after ${after[1]}` : eventType;
  // Named guards say why a branch is taken; inline guard functions have no useful name.
  const name = typeof guard === 'string' ? guard : guard && typeof guard === 'object' && 'type' in guard ? String(guard.type) : null;
  return name ? `${event} [${name}]` : event;
}

function collect(root: AnyStateNode): Raw[] {
  const raw = new Map<string, Raw>();
  const add = (source: string | null, target: string, kind: Raw['kind'], label: string) => {
    const key = `${kind}:${source}->${target}`;
    const r = raw.get(key) ?? raw.set(key, { source, target, kind, labels: [] }).get(key)!;
    if (label && !r.labels.includes(label)) r.labels.push(label);
  };
  const visit = (n: AnyStateNode) => {
    const isRoot = n === root;
    const all: AnyTransitionDefinition[] = [...[...n.transitions.values()].flat(), ...(n.always ?? [])];
    for (const t of all) {
      for (const target of t.target ?? []) {
        add(isRoot ? null : idOf(n), idOf(target), isRoot ? 'global' : 'transition', transitionLabel(t.eventType, t.guard));
      }
    }
    for (const target of n.initial?.target ?? []) add(null, idOf(target), 'initial', '');
    for (const c of Object.values(n.states) as AnyStateNode[]) visit(c);
  };
  visit(root);
  return [...raw.values()];
}

const cx = (b: EdgeBox) => b.x + b.width / 2;
const cy = (b: EdgeBox) => b.y + b.height / 2;
const r = (n: number) => Math.round(n * 10) / 10;

/** A cubic Bézier with its midpoint (for the label). */
function cubic(p0: [number, number], c1: [number, number], c2: [number, number], p3: [number, number]) {
  const mid = (i: 0 | 1) => (p0[i] + 3 * c1[i] + 3 * c2[i] + p3[i]) / 8;
  const pt = (p: [number, number]) => `${r(p[0])} ${r(p[1])}`;
  return { path: `M ${pt(p0)} C ${pt(c1)}, ${pt(c2)}, ${pt(p3)}`, fromX: r(p0[0]), fromY: r(p0[1]), labelX: r(mid(0)), labelY: r(mid(1)) };
}

/** Spreads the ends of several edges along one side of a box, ordered to limit crossings. */
function ports(edges: Raw[], end: 'source' | 'target', boxes: Map<string, EdgeBox>): Map<Raw, number> {
  const out = new Map<Raw, number>();
  const groups = new Map<string, Raw[]>();
  for (const e of edges) groups.set(e[end]!, [...(groups.get(e[end]!) ?? []), e]);
  for (const [id, list] of groups) {
    const box = boxes.get(id)!;
    const other = end === 'source' ? 'target' : 'source';
    list.sort((a, b) => cx(boxes.get(a[other]!)!) - cx(boxes.get(b[other]!)!));
    list.forEach((e, i) => out.set(e, box.x + (box.width * (i + 1)) / (list.length + 1)));
  }
  return out;
}

/**
 * The edges of the machine under `root`, drawn between the positioned `boxes`: downward edges
 * leave a box's bottom and enter the target's top; edges back up go around a side; self
 * transitions loop on the right.
 */
export function edgesOf(root: AnyStateNode, boxes: Map<string, EdgeBox>): ChartEdge[] {
  const raw = collect(root).filter((e) => boxes.has(e.target) && (e.source === null || boxes.has(e.source)));
  const box = (id: string) => boxes.get(id)!;
  const isDown = (e: Raw) => e.kind === 'transition' && e.source !== e.target && box(e.target).y >= box(e.source!).y + box(e.source!).height - 1;
  const down = raw.filter(isDown);
  const out = ports(down, 'source', boxes);
  const into = ports(down, 'target', boxes);
  return raw.map((e): ChartEdge => {
    const T = box(e.target);
    const base = { id: `${e.source ?? e.kind}->${e.target}`, source: e.source, target: e.target, kind: e.kind,
      label: e.kind === 'global' ? `${e.labels.join(' · ')} (from any state)` : e.labels.join(' · ') };
    if (e.kind === 'initial') {
      const nested = T.id.includes('.');
      const from: [number, number] = nested ? [T.x - 18, cy(T)] : [cx(T), T.y - 22];
      return { ...base, ...cubic(from, from, [T.x, cy(T)], nested ? [T.x, cy(T)] : [cx(T), T.y]) };
    }
    if (e.kind === 'global') return { ...base, ...cubic([T.x - 40, T.y - 22], [T.x - 20, T.y - 22], [T.x + 6, T.y - 10], [T.x + 12, T.y]) };
    const S = box(e.source!);
    if (S.id === T.id) {
      const x = S.x + S.width;
      return { ...base, ...cubic([x, cy(S) - 7], [x + 30, cy(S) - 24], [x + 30, cy(S) + 24], [x, cy(S) + 7]) };
    }
    if (isDown(e)) {
      const sx = out.get(e)!;
      const tx = into.get(e)!;
      const dy = (T.y - (S.y + S.height)) / 2;
      return { ...base, ...cubic([sx, S.y + S.height], [sx, S.y + S.height + dy], [tx, T.y - dy], [tx, T.y]) };
    }
    if (T.y + T.height <= S.y + 1) {
      // Back up the chart: around the side nearer the target, bulging out with the distance.
      const side = cx(T) <= cx(S) ? -1 : 1;
      const sx = side < 0 ? S.x : S.x + S.width;
      const tx = side < 0 ? T.x : T.x + T.width;
      const off = Math.min(90, 36 + Math.abs(cy(S) - cy(T)) * 0.12);
      const bulge = (x: number) => Math.max(6, x + side * off);
      return { ...base, ...cubic([sx, cy(S)], [bulge(sx), cy(S)], [bulge(tx), cy(T)], [tx, cy(T)]) };
    }
    // Side by side (same row, or a state and one inside another's band).
    const right = cx(T) > cx(S);
    const sx = right ? S.x + S.width : S.x;
    const tx = right ? T.x : T.x + T.width;
    return { ...base, ...cubic([sx, cy(S)], [(sx + tx) / 2, cy(S)], [(sx + tx) / 2, cy(T)], [tx, cy(T)]) };
  });
}
