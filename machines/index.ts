export { taskMachine, taskSetup } from './task.machine.ts';
export { statusOf } from './statusOf.ts';
export type * from './task.types.ts';
