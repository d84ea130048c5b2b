/**
 * The worker actor: pulls a tier's work from JetStream, runs it on a Provider,
 * reports back, heartbeats.
 *
 * @example
 * import { Worker } from '../actors/worker/index.ts';
 * const worker = new Worker({ nc, tier: 'local', workerId: 'local-1', provider, config });
 * await worker.start();
 */
export { Worker } from './Worker.ts';
export { type WorkerOptions } from './options.ts';
export { buildMessages } from './buildMessages.ts';
export { type TaskOutcome } from './runTask.ts';
