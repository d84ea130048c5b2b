/**
 * Who may set which field of a submission: one decision, read by the router at intake (the
 * authority) and by the CLI before it publishes (so a user hears it at once).
 *
 * A field that names a key, a session or a parent says who a task is for: whose budget it draws
 * on (`clientKey`), which conversation has been confidential (`confidentialSession`), which tier its session keeps (`sessionTier`), which task
 * it serves (`parentTaskId`), which session it is a turn of (`session`, what the dashboard groups by). Only a front door sets them, from the caller it authenticated (the
 * gateway, from the gateway key; `koubou mcp`, from its master's session), submitting on its own door subject. A
 * plain submission (`koubou.task.submit`, the CLI's and scripts') that sets one is refused, and
 * the refusal names the field: it is never charged to the key it names. Every other field,
 * `pinnedTier` included, anyone who may submit may set (a pin only chooses among the tiers the
 * submitter could reach anyway; sensitivity and the budget still overrule it).
 */
import { InputError } from './errors.ts';

/** The fields only a front door may set. A later field that names a key, a session or a parent belongs here. */
export const IDENTITY_FIELDS = ['clientKey', 'confidentialSession', 'sessionTier', 'parentTaskId', 'session'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** The identity-bound fields a task sets, in IDENTITY_FIELDS order. */
export function identityFieldsSet(task: object): IdentityField[] {
  return IDENTITY_FIELDS.filter((f) => (task as Record<string, unknown>)[f] !== undefined);
}

/**
 * Refuses a task submitted other than through a front door when it sets a field only a door may
 * set; the error names every such field.
 *
 * @example
 * refuseIdentityFields({ taskId: 't1', prompt: 'x', clientKey: 'laptop' }, null);
 * // throws InputError (code IDENTITY_FIELD): "clientKey: set only by a front door (the gateway, koubou mcp) ..."
 * refuseIdentityFields({ taskId: 't1', prompt: 'x', clientKey: 'laptop' }, 'gateway'); // fine
 */
export function refuseIdentityFields(task: object, door: string | null): void {
  if (door !== null) return;
  const fields = identityFieldsSet(task);
  if (fields.length === 0) return;
  throw new InputError(
    `${fields.join(', ')}: set only by a front door (the gateway, koubou mcp) from the caller it authenticated, never by a plain submission; leave ${fields.length > 1 ? 'them' : 'it'} out`,
    { code: 'IDENTITY_FIELD' },
  );
}
