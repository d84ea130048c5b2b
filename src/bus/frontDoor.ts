/**
 * The front doors, as words: shared by the subjects (which name a door's subject) and the door
 * logic (frontDoors.ts), so that neither imports the other.
 *
 * A front door is a part of koubou that authenticates its own callers and submits tasks for
 * them (the gateway, by its keys; `koubou mcp`, by the stdio session its master started). Each connects to
 * NATS as the role of the same name. A second door is one more name here, one more role in
 * credentials.ts and one more role section in nats.conf.
 */
export const FRONT_DOORS = ['gateway', 'mcp'] as const;
export type FrontDoor = (typeof FRONT_DOORS)[number];
