export { Router, type RouterOptions } from './Router.ts';
export { TaskDriver, isRest, type DriveAction, type DriveOutcome } from './TaskDriver.ts';
export { TaskStore, type TaskKvRecord } from './TaskStore.ts';
export { RateLimitStore } from './RateLimitStore.ts';
export { natsRoutingServices, type NatsRoutingServicesOptions } from './NatsRoutingServices.ts';
export { adoptTask, type AdoptedTask } from './adoptTask.ts';
export { eventsSince, recordDifficultyOf } from './taskEvents.ts';
