/**
 * The dashboard actor: a read-only web view of koubou, fed by NATS and the ledger.
 *
 * @example
 * import { Dashboard } from './actors/dashboard/index.ts';
 * const { url } = await new Dashboard({ nc, port: 8787 }).start();
 */
export { Dashboard, type DashboardOptions } from './Dashboard.ts';
export { EventFollower, readTaskEvents, type FollowerHandlers, type FollowerOptions } from './EventFollower.ts';
export { InspectBridge, skyInspectBridge, stateValueOf, type InspectorLike, type InspectedRef } from './inspect.ts';
export { natsLedgerSource, sqliteLedgerSource, type LedgerSource, type StatusDifficultyCount } from './ledgerSource.ts';
export { TaskIndex, type TaskSummary, type TaskFilter, type WorkerOutcomes } from './TaskIndex.ts';
export { groupKeyOf, taskGroups, type TaskGroup } from './taskGroups.ts';
export { treeOf, treeViews, type TaskTreeView } from './taskTreeView.ts';
export { feedOf, feedOfSignal, type FeedItem } from './feed.ts';
export { statusView, metricsView, workerRows, type StatusView, type MetricsView, type WorkerRow, type CostsView } from './views.ts';
export { CONTENT_SECURITY_POLICY } from './http.ts';
