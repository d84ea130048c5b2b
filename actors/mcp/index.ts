/** `koubou mcp`: a master agent's session, its MCP server, and what it asks the ledger. */
export { MasterSession, type MasterSessionOptions } from './MasterSession.ts';
export { ChildTask } from './ChildTask.ts';
export { ParentLedger, type ParentSpend, type MonthFigures } from './ParentLedger.ts';
export { createMcpServer, notifyChildEnded } from './createMcpServer.ts';
