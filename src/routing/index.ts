/**
 * Routing a task: the task machine's routing steps from the policies and the services a router (or a
 * dry run) provides. The package's one entry for code outside src/routing.
 */
export * from './RoutingDecision.ts';
export * from './RoutingServices.ts';
export * from './answerStep.ts';
export * from './attemptPrompt.ts';
export * from './createRoutingSteps.ts';
export * from './createScanner.ts';
export * from './dispatchGuard.ts';
export * from './dryRunRoute.ts';
export * from './offlineServices.ts';
export * from './scanTask.ts';
export * from './eval/index.ts';
export * from './executorOf.ts';
export * from './BudgetView.ts';
export * from './reportEvents.ts';
export * from './workItemBase.ts';
