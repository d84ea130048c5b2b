export { askOf, askSummary, type Ask, type AskSource } from './askOf.ts';
export { askType, conversationType } from './askType.ts';
export { unwrapUserMessage, type Unwrapped } from './clientWrappers.ts';
export { judgeDifficulty, type JudgedTask } from './judgeDifficulty.ts';
export { sideRequestOf, SIDE_REQUEST_NAMES, type SideRequest, type SideRequestKind } from './sideRequests.ts';
