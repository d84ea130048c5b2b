/**
 * Workspaces: a repository's working tree packed as a git bundle, carried in JetStream's
 * Object Store, checked out for an agent, read for the sensitivity scan.
 */
export { packWorkspace, repositoryRoot, git, DEFAULT_MAX_WORKSPACE_BYTES, KOUBOUIGNORE, type PackedWorkspace } from './packWorkspace.ts';
export { checkoutWorkspace, readWorkspaceFiles } from './unpackWorkspace.ts';
export { ensureWorkspaceBuckets, getObject, putObject } from './workspaceStore.ts';
