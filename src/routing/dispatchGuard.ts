/**
 * The last check before work goes on the wire, shared by everything that dispatches.
 */
import { KoubouError } from '../core/errors.ts';
import type { KoubouConfig } from '../config/index.ts';
import type { DispatchInput } from '../../machines/task.types.ts';

/**
 * Defence in depth: the machine never routes confidential (or unscanned) work to
 * a cloud tier; if it ever did, this refuses to let it onto the wire. A tier is judged
 * by its `cloud` attribute, and one the config does not know counts as cloud.
 *
 * @example
 * assertDispatchAllowed({ task, tier: 'gpt5_high', sensitivity: 'confidential', attempt: 1, reservationId: null }, config);
 * // throws KoubouError CONFIDENTIAL_TO_CLOUD
 */
export function assertDispatchAllowed({ task, tier, sensitivity }: DispatchInput, config: KoubouConfig): void {
  const cloud = config.tiers[tier]?.cloud ?? true;
  if (cloud && sensitivity !== 'public' && sensitivity !== 'internal') {
    throw new KoubouError('CONFIDENTIAL_TO_CLOUD', `refused to send ${task.taskId} (${sensitivity ?? 'unscanned'}) to ${tier}`);
  }
}
