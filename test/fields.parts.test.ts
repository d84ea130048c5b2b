/**
 * The parts of the identity-field rule, alone: which fields only a door sets, which door a
 * subject names, and the seal that proves a door published a submission.
 */
import { describe, expect, it } from 'vitest';
import { doorOf, doorSeal, encode, isDoorSealed, MessageError, submissionDoor, SUBJECTS } from '../src/bus/index.ts';
import { InputError } from '../src/core/errors.ts';
import { identityFieldsSet, refuseIdentityFields } from '../src/core/identityFields.ts';
import { parseTaskInput } from '../src/core/taskInput.ts';
import { publicSessionId } from '../src/sessions/index.ts';

const KEY = `kb${'5e'.repeat(24)}`;
const subject = SUBJECTS.doorSubmit('gateway');
const data = encode({ taskId: 't1', prompt: 'x', clientKey: 'laptop' });

describe('identity-bound fields', () => {
  it('are clientKey, confidentialSession and parentTaskId, not pinnedTier', () => {
    expect(identityFieldsSet({ taskId: 't', prompt: 'x', pinnedTier: 'local', parentTaskId: 'p', clientKey: 'k' })).toEqual(['clientKey', 'parentTaskId']);
  });

  it('include the session a task is a turn of, which the gateway names by a keyed hash, never by the client\'s words', () => {
    expect(identityFieldsSet({ taskId: 't', prompt: 'x', session: 's-1' })).toEqual(['session']);
    expect(() => refuseIdentityFields({ taskId: 't', prompt: 'x', session: 's-1' }, null)).toThrow(/^session: set only by a front door/);
    const named = 'laptop:thread-of-a-user';
    const id = publicSessionId(KEY, named);
    expect(id).toMatch(/^s-[0-9a-f]{24}$/);
    expect(parseTaskInput({ taskId: 't', prompt: 'x', session: id }).session).toBe(id);
    // Every gateway (one door key) names a session alike; another key, or another session, differently.
    expect(publicSessionId(KEY, named)).toBe(id);
    expect(publicSessionId(`${KEY}x`, named)).not.toBe(id);
    expect(publicSessionId(KEY, 'laptop:another-thread')).not.toBe(id);
  });

  it('are refused without a door, every one named, and allowed through one', () => {
    const task = { taskId: 't', prompt: 'x', confidentialSession: { session: 's', since: 't0' }, clientKey: 'k' };
    expect(() => refuseIdentityFields(task, null)).toThrow(InputError);
    expect(() => refuseIdentityFields(task, null)).toThrow(/^clientKey, confidentialSession: set only by a front door \(the gateway, koubou mcp\)/);
    expect(() => refuseIdentityFields({ taskId: 't', prompt: 'x', pinnedTier: 'gpt5_high' }, null)).not.toThrow();
    expect(() => refuseIdentityFields(task, 'gateway')).not.toThrow();
  });
});

describe('front door subjects and seals', () => {
  it('names the door of a door subject, and none for a plain or unknown one', () => {
    expect(doorOf(subject)).toBe('gateway');
    expect(doorOf(SUBJECTS.submit)).toBeNull();
    expect(doorOf('koubou.task.submit.door.mcp')).toBe('mcp');
    expect(doorOf('koubou.task.submit.door.cli')).toBeNull();
  });

  it('accepts a seal only for the same key, subject and bytes', () => {
    const seal = doorSeal(KEY, subject, data);
    expect(isDoorSealed(KEY, subject, data, seal)).toBe(true);
    expect(isDoorSealed(`${KEY}x`, subject, data, seal)).toBe(false);
    expect(isDoorSealed(KEY, SUBJECTS.submit, data, seal)).toBe(false);
    expect(isDoorSealed(KEY, subject, encode({ taskId: 't1', prompt: 'x', clientKey: 'someone-else' }), seal)).toBe(false);
    expect(isDoorSealed(KEY, subject, data, undefined)).toBe(false);
    expect(isDoorSealed(KEY, subject, data, 'not hex')).toBe(false);
    expect(isDoorSealed('', subject, data, seal)).toBe(false);
  });

  it('tells the router where a stored submission came from, or why it cannot be believed', () => {
    expect(submissionDoor(SUBJECTS.submit, data, undefined, KEY)).toBeNull();
    expect(submissionDoor(subject, data, doorSeal(KEY, subject, data), KEY)).toBe('gateway');
    expect(() => submissionDoor(subject, data, undefined, KEY)).toThrow(MessageError);
    expect(() => submissionDoor(subject, data, undefined, KEY)).toThrow(/no valid Koubou-Door-Seal: not submitted by the gateway/);
    expect(() => submissionDoor(subject, data, doorSeal(KEY, subject, data), undefined)).toThrow(/this router has no KOUBOU_DOOR_KEY/);
    expect(() => submissionDoor('koubou.task.submit.door.cli', data, undefined, KEY)).toThrow(/not a front door of this koubou \(doors: gateway, mcp\)/);
  });
});
