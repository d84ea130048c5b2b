/**
 * docs/protocol.md, rendered from the message schemas, so the protocol
 * documentation cannot drift from the code (a test compares the two).
 */
import { z } from 'zod';
import * as m from './messages.ts';
import { LEDGER_API, reserveRequestSchema } from './ledgerApi.ts';
import * as slice from './sliceMessages.ts';
import { STREAMS, BUCKETS, SUBJECTS } from './subjects.ts';
import { DOOR_KEY_VAR, DOOR_SEAL_HEADER } from './doorSeal.ts';
import { FRONT_DOORS, type FrontDoor } from './frontDoor.ts';
import { IDENTITY_FIELDS } from '../core/identityFields.ts';
import { CONSUMERS } from './streams.ts';
import { INBOX_PREFIX } from './connect.ts';

/** Names as inline code, comma-separated: `a`, `b`. */
const codeList = (names: readonly string[]): string => names.map((n) => `\`${n}\``).join(', ');

/** An object schema's top-level fields, `?` after one that may be left out: `{ taskId, sinceHours? }`. */
function fieldsOf(schema: z.ZodType): string {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return '…';
  const names = Object.entries(shape).map(([k, v]) => (v.safeParse(undefined).success ? `${k}?` : k));
  return names.length ? `{ ${names.join(', ')} }` : '{}';
}

const INBOX_LIST = Object.entries(INBOX_PREFIX).map(([role, prefix]) => `\`${role}\` → \`${prefix}\``).join(', ');

const WHO_SETS_WHICH_FIELD = [
  '### Who may set which field of a submission',
  '',
  `Fields that name a key, a session or a parent say who a task is for, so only a **front door** sets them, from the caller it authenticated: ${codeList(IDENTITY_FIELDS)}. The front doors are ${codeList(FRONT_DOORS)} (the gateway, for its keys; \`koubou mcp\`, for a master agent\'s session, whose id it sets as the \`parentTaskId\` of every subtask); each connects as the NATS role of its name and submits on \`${SUBJECTS.doorSubmit('<door>' as FrontDoor)}\`, which nats.conf lets only that role publish. Because a JetStream reply can land on any subject its requester names (a direct get answers with a stored message\'s bytes), a door also seals each submission: header \`${DOOR_SEAL_HEADER}\` = hex HMAC-SHA256, under the key \`${DOOR_KEY_VAR}\` (\`.koubou/credentials.env\`: give it to the doors and the routers, never to a worker), of the subject, a newline, and the payload. The router refuses a door subject\'s message without a seal that fits.`,
  '',
  '| field | `koubou.task.submit` (role `submitter`: CLI, scripts) | a front door (role `gateway` or `mcp`) |',
  '|---|---|---|',
  ...IDENTITY_FIELDS.map((f) => `| \`${f}\` | refused: rejection \`koubou.task.submit: ${f}: set only by a front door …\`, nothing runs or is charged | set from the authenticated caller |`),
  '| `pinnedTier` | allowed (a pin chooses among tiers the submitter reaches anyway; sensitivity and the budget overrule it) | allowed (`koubou/<tier>`) |',
  '| every other field | allowed | allowed |',
  '',
  'A plain submission names no key: it draws on the global monthly budget only, as every CLI submission always has, and the dashboard lists its spend as "not through the gateway". A key\'s own budget bounds only what comes through a door with that key.',
  '',
  'Upgrading: run \`koubou init\` (it adds the \`gateway\` password and the door key to an existing credentials file), restart nats-server with the new \`nats.conf\` and that file, and start the new routers before the new gateway. A new router refuses an old gateway\'s tasks (they carry \`clientKey\` on \`koubou.task.submit\`); the new gateway\'s door subject is in \`KOUBOU_SUBMIT\` once a new router or ledger has updated the stream.',
];

const messages: [string, string, string, z.ZodType][] = [
  ['Submission', '`koubou.task.submit`, `koubou.task.submit.door.<door>`', 'JetStream `KOUBOU_SUBMIT` (work queue). Publish with header `Nats-Msg-Id: <taskId>`: the same id within the duplicate window (2 min) is dropped by the server; later, the router refuses it as a duplicate. Either way a task id runs once. Submitters publish on `koubou.task.submit`; a front door (' + codeList(FRONT_DOORS) + ') on its own door subject, with a `Koubou-Door-Seal` header (below, "Who may set which field"). ' + codeList(IDENTITY_FIELDS) + ' are refused on `koubou.task.submit`, with a rejection naming the field.', m.submissionSchema],
  ['Work item', '`koubou.work.gpt5_high`, `koubou.work.gpt5_medium`, `koubou.work.local.<lane>`', 'JetStream `KOUBOU_WORK` (work queue). Each cloud tier has one durable pull consumer, named after it, shared by every worker of that tier on any host. The local tier has three lanes, one consumer each: `local_local` (work the `routing_policy` rules prefer on workers whose model server is on the master machine, priority 8-10 by default), `local_remote` (preferred on LAN hosts, 1-4) and `local_any` (either, 5-7). A worker pulls its own kind\'s lane first, then `local_any`, and the other kind\'s lane only while no worker of that kind has a free slot (it reads the heartbeats for that). `Nats-Msg-Id: <taskId>:<attempt>`.', m.workItemSchema],
  ['Report', '`koubou.report.<taskId>`, `koubou.cancel.<taskId>`', 'JetStream `KOUBOU_REPORTS` (work queue), consumed by the routers. Workers report `started` (held back up to 250 ms: a call that ends sooner carries it in its outcome as `startedAt`, protocol 3), `completed`, `failed` on `koubou.report.<taskId>`; `koubou cancel` sends `cancel` on `koubou.cancel.<taskId>`. Each subject takes only its own kinds (anything else is rejected), and nats.conf lets submitters publish cancels but not reports, so a submitter cannot forge a result.', m.reportSchema],
  ['Task events', '`koubou.evt.task.<taskId>`', 'JetStream `KOUBOU_EVENTS` (limits, 7 days). Since protocol 2: one message per router step, `{ "events": [...] }`, holding an event (below) for every state the step passed through, in order, numbered by `seq` across the task; `Nats-Msg-Id: <taskId>:evt:<first seq>-<last seq>` (`<taskId>:evt:<seq>` for a step of one state). A creation step carries about nine states, a worker\'s report one or two. Protocol 1 (one event per message, the event object itself) is still accepted by every reader. The last event has status `completed`, `failed` or `cancelled` and carries the result or error. Read with an ordered consumer filtered on the task\'s subject.', m.taskEventsMessageSchema],
  ['Task event', '(an element of `events`)', 'One state a task passed through, with its reason.', m.taskEventSchema],
  ['Usage', '`koubou.evt.usage`', 'JetStream `KOUBOU_EVENTS`. One per model call that its execution does not carry (protocol 4: an executor of one call charges it in its execution message). `usageId` is `<taskId>:<attempt>:<call>` (calls numbered from 1 within an attempt: an executor may make several) and `Nats-Msg-Id` is `usage:<usageId>`: a call redone after a crash is charged once (each kind of message has its own id namespace, since JetStream de-duplicates per stream).', m.usageEventSchema],
  ['Rate-limit signal', '`koubou.evt.ratelimit.<tier>`', 'JetStream `KOUBOU_EVENTS`; the routers apply the provider\'s `x-ratelimit-*` headers and 429s to the shared limiter.', m.rateLimitSignalSchema],
  ['Rejection', '`koubou.task.rejected`', 'JetStream `KOUBOU_EVENTS`. Any actor that refuses a message says why here; the ledger records it.', m.rejectionSchema],
  ['Execution', '`koubou.evt.execution`', 'JetStream `KOUBOU_EVENTS`. One per execution of a task on a worker, successful or not (also one handed back because its host failed); the ledger writes it to `worker_metrics` and measures performance factors from them. `Nats-Msg-Id: exec:<executionId>`. When it carries `calls` (protocol 4), it is published before the outcome report and the ledger charges each call as a usage message, in the same transaction; otherwise it follows the report.', m.executionSchema],
  ['Heartbeat', '`koubou.evt.worker.<workerId>`', 'Core NATS, every 2 s and soon after a slot is taken or freed. `health` is the last active check of the model server (local tier); `status` is `error` while the host is cooled down.', m.heartbeatSchema],
  ['Performance factors', '`koubou.pool.performance`', 'Core NATS, from the ledger after each recompute and whenever a heartbeat states an outdated factor: each worker\'s measured speed relative to the local baseline (0.1-2.0). Workers place themselves by it.', m.performanceSchema],
  ['Progress', '`koubou.progress.<taskId>`', 'Core NATS, at most every 250 ms while a worker generates.', m.progressSchema],
  ['Streamed output', '`koubou.stream.<taskId>`', 'Core NATS, not persisted: every piece of the model\'s output (text, and tool calls in pieces) as the backend sends it, published by the worker when the work item asks for it (`stream`: the gateway\'s client asked for a streamed answer; a work item from a protocol 4 router, which does not say, streams a task with a `conversation`). Numbered per attempt by `seq`; a subscriber that sees a gap takes the rest from the task\'s final event, which carries the whole answer (`result.text`, `result.toolCalls`).', m.streamDeltaSchema],
  ['Budget reservation', '`koubou.ledger.budget.reserve`', 'Request/reply to the ledger. Reply: `{ "granted": boolean, "reason": string }`. Idempotent by `reservationId`. Refused for a task that has already ended (a request sent on late, after its router gave up on it); a task\'s final event releases every active reservation of the task, including one whose reply its router never got, and an event with an `execution` fallback releases the task\'s reservations on the tier it left (the ledger releases in the order of its event stream, so never before the charges a worker put there before reporting).', reserveRequestSchema],
  ['Budget slice lease', '`koubou.ledger.slice.lease`', 'Request/reply to the ledger; only the `gateway` role may publish `koubou.ledger.slice.>`. A slice is a reservation of the month (and of the gateway key\'s month) for many calls, granted by the same rule and under the same lock as a reservation for one call: between `minUsd` and `wantUsd`, as much as there is room for, or refused. It has no task and no parent (a task with a parent keeps per-call reservations). The gateway reserves its calls from it in memory; each call\'s usage names the slice as its `reservationId`, and charges it without settling it while it is leased. Idempotent by `sliceId`. The ledger first closes slices past their expiry and grace. Reply below (`granted: false` carries a `code` and a `reason`; a failure is `{ "error" }`); both replies carry the month after the request as `budget` (the shape of `koubou.ledger.query.budget`).', slice.sliceLeaseRequestSchema],
  ['Budget slice lease reply', '(the reply to `koubou.ledger.slice.lease`)', 'Granted: the slice\'s amount and its expiry by the ledger\'s clock.', slice.sliceLeaseReplySchema],
  ['Budget slice return', '`koubou.ledger.slice.return`', 'Request/reply to the ledger: the gateway is done with a slice, whose calls cost `chargedUsd` by its count (their usages already durable in JetStream). The slice then holds `max(chargedUsd − charged so far, 0)` until those usages land, and is settled (released when nothing was charged). Idempotent. A slice never returned is closed by the ledger once its expiry and a grace period (30 s by default) have passed: what it still holds is released; a usage that lands later is charged in full and recorded by the budget watch (`slice_expired`). docs/operations.md, "Budget slices".', slice.sliceReturnRequestSchema],
  ['Budget slice return reply', '(the reply to `koubou.ledger.slice.return`)', '`heldUsd`: what the slice still holds against the month.', slice.sliceReturnReplySchema],
];

export function renderProtocolDoc(): string {
const lines = [
  '# koubou protocol',
  '',
  'Generated from `src/bus/messages.ts` and `src/bus/ledgerApi.ts` by `npm run docs:protocol`; do not edit by hand.',
  '',
  'Every message is JSON (UTF-8). Everything an actor needs goes over NATS, so a client in any language, or the `nats` CLI, can submit a task, follow it and cancel it. What such a client must know:',
  '',
  '- **Server**: nats-server 2.9 or newer with JetStream (koubou is tested on Debian\'s 2.9.10). koubou creates consumers with the named-consumer API of 2.9 (`$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`) and one `filter_subject` each; several `filter_subjects` on one consumer need 2.10, so a client that must run on 2.9 filters on one subject per consumer, as below.',
  '- **User and password**: one NATS user per role (`nats.conf`): `submitter` for clients that submit, follow and cancel; its password is `KOUBOU_NATS_SUBMITTER_PASSWORD` in `.koubou/credentials.env` (`koubou init`). The gateway has a role of its own, `gateway`, and so has `koubou mcp`, `mcp` (front doors: below, "Who may set which field"). `mcp` may also publish `koubou.ledger.parent.open` (a session and its money cap; the ledger then bounds every reservation under the session by that cap, as it bounds the month) and `koubou.ledger.parent.close` (`{ parentTaskId, end: "client_closed" | "server_stopped" }`: the session has ended; the ledger marks its row completed, its children run on).',
  '- **TLS**: when `koubou init` has made certificates, the server runs `nats-tls.conf` and takes TLS clients only. Connect with `tls://` and verify the server with the local CA, `.koubou/tls/ca.pem` (`--tlsca` for the `nats` CLI, `tls: { caFile }` in nats.js); the user and password are as above. docs/operations.md, "TLS on the bus".',
  `- **Inbox prefix**: each role receives replies only on its own inbox prefix, so replies to one role stay invisible to the others: ${INBOX_LIST}. A JetStream publish is a request whose reply is the stream\'s acknowledgement: with a client\'s default \`_INBOX.\` prefix that reply is a permissions violation, and the publish times out although the message may be stored. Set the prefix when connecting (\`--inbox-prefix\` for the \`nats\` CLI, \`inboxPrefix\` in nats.js, \`CustomInboxPrefix\` in nats.go).`,
  '- **Protocol 5**. What changed from protocol 4: a task\'s text travels once. A submission may leave `prompt` out when it carries a `conversation` (the gateway does), and its readers take the conversation as one text; a work item carries either its `conversation` (a single call) or its `prompt` (no conversation, or an agent), not both. A submission and a work item may say `stream`: only then does the worker publish the model\'s output on `koubou.stream.<taskId>` (a non-streamed gateway request used to get about two dozen such messages nobody read). A submission from a front door and its task events may carry `session` (an opaque id a door sets, by which the dashboard groups a session\'s tasks), and the ledger serves `koubou.ledger.parent.close`. Upgrade the ledger, the dashboards and the CLIs first (a protocol 4 ledger refuses, and drops, a task event with `session`), then the workers, then the routers, then the gateways and `koubou mcp`: a protocol 4 worker refuses a work item with `stream` or without `prompt`, and a protocol 4 router a submission with `stream`, `session` or without `prompt`.',
  '- **Protocol 6** (this one). What changed from protocol 5: a gateway that routes and calls a task itself (its interactive path, docs/operations.md) records the whole task in one message on `koubou.evt.task.<taskId>`: its events, with `executions` (each carrying its calls\' usage in `calls`) and `usage` beside them; the ledger writes the events up to the first final one, then the usage and the executions, then the final event, in one transaction. A task handed to the routers continues with router steps\' messages as before. Upgrade the ledgers and the dashboards and CLIs first (a protocol 5 reader refuses a task message with `executions`), then the gateways.',
  '- **Protocol 4**. What changed from protocol 3: a worker whose executor makes one model call (every tier\'s default) charges that call inside its `koubou.evt.execution` message, as `calls`, and publishes that message before its outcome report, instead of a `koubou.evt.usage` message before the report and the execution after it. One JetStream message fewer per task; every call is still on the ledger\'s stream before the task is reported done, and still charged once by its `usageId`. An agent\'s calls keep their own usage messages. Upgrade the ledger and the dashboard before the workers: a protocol 3 ledger refuses an execution with `calls`.',
  '- **Protocol 3**. What changed from protocol 2: a worker holds its `started` report back for a moment (250 ms by default); a call that ends sooner tells its start in its `completed` or `failed` report as `startedAt`, and the router applies the start and the outcome in one step. One report message and one router step fewer per fast task; a long call still reports `started` after that moment. Upgrade the routers before the workers: a protocol 2 router refuses a report with `startedAt`.',
  '- **Protocol 2**. What changed from protocol 1: a task\'s events travel as one message per router step, `{ "events": [...] }`, instead of one message per state (readers take both); submissions may carry a `conversation` with tools (the gateway\'s), a `pinnedTier`, a `confidentialSession`, a `clientKey`, and a `workspace` with `executor: "agent"` (`koubou submit --repo`); agent work has its own queue per tier (`koubou.work.<tier>.agent`); workspaces travel in the Object Store buckets `koubou_ws` and `koubou_ws_cloud`; a model\'s output streams on `koubou.stream.<taskId>`; results may carry `toolCalls`, a `patch` and an `agent` summary; progress may carry an agent\'s `activity`.',
  '- **Following a task**: submitters may not subscribe to `koubou.evt.>`; they read a task\'s events from the `KOUBOU_EVENTS` stream through a consumer of their own, filtered on `koubou.evt.task.<taskId>`, and fetch from it on their inbox. Heartbeats (`koubou.evt.worker.>`), progress (`koubou.progress.>`) and streamed output (`koubou.stream.>`) are core subjects they may subscribe to.',
  '',
  'The whole round trip as the submitter, with the `nats` CLI (a test runs these commands, as written here, with another NATS client):',
  '',
  '```sh',
  '# Submit. The reply is the stream\'s acknowledgement: {"stream":"KOUBOU_SUBMIT","seq":…}',
  'nats --user submitter --password "$KOUBOU_NATS_SUBMITTER_PASSWORD" --inbox-prefix _INBOX_submit \\',
  '  req koubou.task.submit \'{"taskId":"t-1","type":"refactoring","priority":5,"prompt":"refactor this module"}\' -H Nats-Msg-Id:t-1',
  '',
  '# Follow: a consumer of your own on the task\'s events (removed by the server after 5 idle minutes) …',
  'nats --user submitter --password "$KOUBOU_NATS_SUBMITTER_PASSWORD" --inbox-prefix _INBOX_submit \\',
  '  req \'$JS.API.CONSUMER.CREATE.KOUBOU_EVENTS.follow-t-1.koubou.evt.task.t-1\' \\',
  '  \'{"stream_name":"KOUBOU_EVENTS","config":{"name":"follow-t-1","filter_subject":"koubou.evt.task.t-1","deliver_policy":"all","ack_policy":"none","inactive_threshold":300000000000}}\'',
  '',
  '# … then fetch its messages one by one (each a router step\'s {"events": [...]}), repeating until an event\'s "status" is completed, failed or cancelled.',
  'nats --user submitter --password "$KOUBOU_NATS_SUBMITTER_PASSWORD" --inbox-prefix _INBOX_submit \\',
  '  req \'$JS.API.CONSUMER.MSG.NEXT.KOUBOU_EVENTS.follow-t-1\' \'{"batch":1,"expires":5000000000}\'',
  '',
  '# Cancel (the task ends "cancelled" unless it had already ended).',
  'nats --user submitter --password "$KOUBOU_NATS_SUBMITTER_PASSWORD" --inbox-prefix _INBOX_submit \\',
  '  req koubou.cancel.t-1 \'{"kind":"cancel","taskId":"t-1","reason":"no longer needed","at":"2026-12-03T00:00:00Z"}\' -H Nats-Msg-Id:cancel-t-1',
  '```',
  '',
  `Streams: ${Object.values(STREAMS).map((s) => `\`${s}\``).join(', ')}. Durable consumers: \`${CONSUMERS.submissions}\` (routers, on KOUBOU_SUBMIT), \`${CONSUMERS.reports}\` (routers, on KOUBOU_REPORTS), one per cloud tier and one per local lane on KOUBOU_WORK, \`${CONSUMERS.ledger}\` (on KOUBOU_EVENTS). KV buckets: \`${BUCKETS.tasks}\` (task machine snapshots, routers only; a finished task keeps only its status and sequence numbers there), \`${BUCKETS.rateLimits}\` (shared rate-limit windows). Streams and consumers are created idempotently by whichever of router, ledger or \`koubou up\` starts first, with \`nats.replicas\` copies (auto: 1 on one server, 3 on a cluster; docs/operations.md "Running on several machines").`,
  '',
  `Gateway session state: KV bucket \`${BUCKETS.sessions}\`, created by the router, read and written only by the \`gateway\` role (\`$KV.${BUCKETS.sessions}.>\` and \`$JS.API.STREAM.MSG.GET.KV_${BUCKETS.sessions}\`; no other role may read or write it, so no submitter can clear a mark). Keys: \`session.<sha256 hex of "<gateway key name>:<session>">\` holds one JSON record per conversation, \`{ "v": 1, "confidentialSince"?: taskId, "confidentialAt"?: ISO time, "tier"?: string, "tierReason"?: string, "askDigest"?: string, "updatedAt": ISO time }\` (fields are added, never renamed: a reader ignores what it does not know; \`tier\` is the tier routing chose by difficulty for the session's task statement, whose digest (sha256 hex, first 32 characters) is \`askDigest\`, and \`tierReason\` the reason; a later turn with that statement carries it as the submission's \`sessionTier\`); \`parent.<taskId>\` holds \`{ "tokens": n, "updatedAt" }\`, the tokens an agent task's model requests have used (a parent that is not a task id is keyed \`parent.sha256-<hex>\`). Every write is a compare-and-set on the key's revision (create when absent, update at the revision read, again on a lost race); a confidential mark, once written, is kept by every later write. One value per key, kept 30 days after its last write (a marked session in use is written again once a day), at most 1 GiB (then new keys are refused and the gateway answers 503). Each task the gateway submits names its session as \`session\`: \`s-\` and the first 24 hex characters of HMAC-SHA256, under \`${DOOR_KEY_VAR}\`, of \`session:<gateway key name>:<session>\` (the same on every gateway, and no reader of task events can test a guess of a conversation against it); task events carry it, and the dashboard groups a session's tasks by it.`,
  '',
  'Request/reply subjects served by the ledger, each request\'s fields and its reply\'s (`?`: may be left out), from `src/bus/ledgerApi.ts`, whose schemas the ledger decodes requests with and `LedgerClient` checks replies with. Any reply may instead be `{ "error": string }`: the request was refused (it names the field) or the ledger failed (it says so, and whether to retry).',
  '',
  ...Object.values(LEDGER_API).map((a) => `- \`${a.subject}\`: \`${fieldsOf(a.request)}\` → \`${fieldsOf(a.reply)}\``),
  '',
  'Aborts go to workers on core `koubou.ctl.abort.<taskId>`.',
  '',
  '**What runs a task, and what is reserved for it** (one rule, `executorOf` in `src/routing/executorOf.ts`): a submission\'s `executor` when it names one; else `agent` for a task with a `workspace`, `single_call` without. An `agent` task goes to `koubou.work.<tier>.agent` with its workspace and reserves nothing itself: its worker makes no model call, and every model request its agent makes comes back through the gateway as a task of its own, reserved before it runs. A `single_call` task goes to the tier\'s plain queue without the workspace (a `single_call` task with a `workspace` is one model call on its prompt and files; the workspace is scanned, not sent), and on a cloud tier reserves `max_calls_per_attempt` × the worst case of the prompt its worker sends (the conversation with its tools, or koubou\'s prompt fitted to the window), every prompt token uncached and the output at `max_output_tokens`. The work item carries the reservation\'s id and amount (`reservedUsd`); a cloud worker makes no paid call without a reservation, nor one whose worst case would take the attempt past `reservedUsd`. The ledger records any paid usage that no granted reservation of its task covers (`koubou_unreserved_usd_total` in `/metrics`, an alert in `koubou status` and on the dashboard).',
  '',
  'Who may publish and subscribe to what is in `nats.conf`: in particular cloud-tier worker credentials cannot read `koubou.work.local`, the task store or the event stream.',
  '',
  ...WHO_SETS_WHICH_FIELD,
  '',
  'A message that is not valid JSON or does not match its schema is refused: it is acknowledged so it never blocks its queue, and a rejection (below) names the subject, the field and the problem.',
];
for (const [title, subject, about, schema] of messages) {
  lines.push('', `## ${title}: ${subject}`, '', about, '', '```json', JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2), '```');
}
return `${lines.join('\n')}\n`;
}
