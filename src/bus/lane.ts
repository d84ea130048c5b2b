/**
 * The lanes of the local tier's work queue, as words: shared by the subjects (which name a
 * lane's subject) and the lane logic (lanes.ts), so that neither imports the other.
 */

/** Who a local work item is meant for: workers on this machine, on LAN hosts, or either. */
export const LANES = ['local', 'remote', 'any'] as const;
export type Lane = (typeof LANES)[number];

/** Where a worker's model server runs: this machine (`local`) or another LAN host (`remote`). */
export type WorkerLocation = 'local' | 'remote';
