/**
 * The local tier's worker pool: placement by priority, the registry of workers, performance
 * factors and scaling. The package's one entry for code outside src/pool.
 */
export * from './WorkerRegistry.ts';
export * from './performance.ts';
export * from './placement.ts';
export * from './scaling.ts';
