/** How a task ended, for the worker's heartbeat status. `handed_back`: its host failed, another worker redoes it. */
export type TaskOutcome = 'completed' | 'failed' | 'rate_limited' | 'cancelled' | 'shutdown' | 'handed_back';
