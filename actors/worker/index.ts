/**
 * The worker actor: pulls a tier's work from JetStream, runs it on a Provider,
 * reports back, heartbeats.
 *
 * @example
 * import { resolveBackend, Worker } from '../actors/worker/index.ts';
 * const { provider, config: tierConfig } = await resolveBackend(config, 'local', { ollama: 'http://gpu-box:11434' });
 * const worker = new Worker({ nc, tier: 'local', workerId: 'local-1', provider, config: tierConfig });
 * await worker.start();
 */
export { Worker } from './Worker.ts';
export { type WorkerOptions } from './options.ts';
export { type TaskOutcome } from './runTask.ts';
export { resolveBackend, checkBackend, planUpBackend, isLoopback, type BackendFlags, type WorkerBackend, type UpBackendPlan } from './backend.ts';
