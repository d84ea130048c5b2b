/**
 * docs/protocol.md, rendered from the message schemas, so the protocol
 * documentation cannot drift from the code (a test compares the two).
 */
import { z } from 'zod';
import * as m from './messages.ts';
import { STREAMS, BUCKETS } from './subjects.ts';
import { CONSUMERS } from './streams.ts';

const messages: [string, string, string, z.ZodType][] = [
  ['Submission', '`koubou.task.submit`', 'JetStream `KOUBOU_SUBMIT` (work queue). Publish with header `Nats-Msg-Id: <taskId>`: the same id within the duplicate window (2 min) is dropped by the server; later, the router refuses it as a duplicate. Either way a task id runs once.', m.submissionSchema],
  ['Work item', '`koubou.work.gpt5_high`, `koubou.work.gpt5_medium`, `koubou.work.local.<lane>`', 'JetStream `KOUBOU_WORK` (work queue). Each cloud tier has one durable pull consumer, named after it, shared by every worker of that tier on any host. The local tier has three lanes, one consumer each: `local_local` (work the `routing_policy` rules prefer on workers whose model server is on the master machine, priority 8-10 by default), `local_remote` (preferred on LAN hosts, 1-4) and `local_any` (either, 5-7). A worker pulls its own kind\'s lane first, then `local_any`, and the other kind\'s lane only while no worker of that kind has a free slot (it reads the heartbeats for that). `Nats-Msg-Id: <taskId>:<attempt>`.', m.workItemSchema],
  ['Report', '`koubou.report.<taskId>`, `koubou.cancel.<taskId>`', 'JetStream `KOUBOU_REPORTS` (work queue), consumed by the routers. Workers report `started`, `completed`, `failed` on `koubou.report.<taskId>`; `koubou cancel` sends `cancel` on `koubou.cancel.<taskId>`. Each subject takes only its own kinds (anything else is rejected), and nats.conf lets submitters publish cancels but not reports, so a submitter cannot forge a result.', m.reportSchema],
  ['Task event', '`koubou.evt.task.<taskId>`', 'JetStream `KOUBOU_EVENTS` (limits, 7 days). One per state a task passes through, numbered by `seq`; `Nats-Msg-Id: <taskId>:evt:<seq>`. The last one has status `completed`, `failed` or `cancelled` and carries the result or error. Read with an ordered consumer filtered on the task\'s subject.', m.taskEventSchema],
  ['Usage', '`koubou.evt.usage`', 'JetStream `KOUBOU_EVENTS`. `usageId` is `<taskId>:<attempt>` and `Nats-Msg-Id` is `usage:<usageId>`: a call redone after a crash is charged once (each kind of message has its own id namespace, since JetStream de-duplicates per stream).', m.usageEventSchema],
  ['Rate-limit signal', '`koubou.evt.ratelimit.<tier>`', 'JetStream `KOUBOU_EVENTS`; the routers apply the provider\'s `x-ratelimit-*` headers and 429s to the shared limiter.', m.rateLimitSignalSchema],
  ['Rejection', '`koubou.task.rejected`', 'JetStream `KOUBOU_EVENTS`. Any actor that refuses a message says why here; the ledger records it.', m.rejectionSchema],
  ['Execution', '`koubou.evt.execution`', 'JetStream `KOUBOU_EVENTS`. One per execution of a task on a worker, successful or not (also one handed back because its host failed); the ledger writes it to `worker_metrics` and measures performance factors from them. `Nats-Msg-Id: exec:<executionId>`.', m.executionSchema],
  ['Heartbeat', '`koubou.evt.worker.<workerId>`', 'Core NATS, every 2 s and soon after a slot is taken or freed. `health` is the last active check of the model server (local tier); `status` is `error` while the host is cooled down.', m.heartbeatSchema],
  ['Performance factors', '`koubou.pool.performance`', 'Core NATS, from the ledger after each recompute and whenever a heartbeat states an outdated factor: each worker\'s measured speed relative to the local baseline (0.1-2.0). Workers place themselves by it.', m.performanceSchema],
  ['Progress', '`koubou.progress.<taskId>`', 'Core NATS, at most every 250 ms while a worker generates.', m.progressSchema],
  ['Budget reservation', '`koubou.ledger.budget.reserve`', 'Request/reply to the ledger. Reply: `{ "granted": boolean, "reason": string }`. Idempotent by `reservationId`.', m.reserveRequestSchema],
];

export function renderProtocolDoc(): string {
const lines = [
  '# koubou protocol',
  '',
  'Generated from `src/bus/messages.ts` by `npm run docs:protocol`; do not edit by hand.',
  '',
  'Every message is JSON (UTF-8). Everything an actor needs goes over NATS; a client in any language, or the `nats` CLI, can submit a task and follow it:',
  '',
  '```sh',
  'nats --user submitter --password "$KOUBOU_NATS_SUBMITTER_PASSWORD" pub koubou.task.submit \\',
  '  \'{"taskId":"t-1","type":"refactoring","priority":5,"prompt":"refactor this module"}\' -H Nats-Msg-Id:t-1',
  'nats --user submitter --password "$KOUBOU_NATS_SUBMITTER_PASSWORD" sub koubou.evt.task.t-1   # or an ordered consumer on KOUBOU_EVENTS',
  '```',
  '',
  `Streams: ${Object.values(STREAMS).map((s) => `\`${s}\``).join(', ')}. Durable consumers: \`${CONSUMERS.submissions}\` (routers, on KOUBOU_SUBMIT), \`${CONSUMERS.reports}\` (routers, on KOUBOU_REPORTS), one per cloud tier and one per local lane on KOUBOU_WORK, \`${CONSUMERS.ledger}\` (on KOUBOU_EVENTS). KV buckets: \`${BUCKETS.tasks}\` (task machine snapshots, routers only; a finished task keeps only its status and sequence numbers there), \`${BUCKETS.rateLimits}\` (shared rate-limit windows). Streams and consumers are created idempotently by whichever of router, ledger or \`koubou up\` starts first.`,
  '',
  'Other request/reply subjects served by the ledger: `koubou.ledger.budget.release` (`{ "reservationId" }`), `koubou.ledger.query.budget`, `.status`, `.costs` (`{ "sinceHours" }`), `.task` (`{ "taskId" }`). Aborts go to workers on core `koubou.ctl.abort.<taskId>`.',
  '',
  'Who may publish and subscribe to what is in `nats.conf`: in particular cloud-tier worker credentials cannot read `koubou.work.local`, the task store or the event stream.',
  '',
  'A message that is not valid JSON or does not match its schema is refused: it is acknowledged so it never blocks its queue, and a rejection (below) names the subject, the field and the problem.',
];
for (const [title, subject, about, schema] of messages) {
  lines.push('', `## ${title}: ${subject}`, '', about, '', '```json', JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2), '```');
}
return `${lines.join('\n')}\n`;
}
