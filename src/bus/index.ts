/**
 * koubou's bus: subjects, streams, message schemas, connecting as a role, and
 * running a nats-server child process.
 */
export { connectBus, INBOX_PREFIX, type BusOptions } from './connect.ts';
export { ROLES, ROUTE_PASSWORD_VAR, passwordVar, generateCredentials, loadOrCreateCredentials, readCredentials, type Role } from './credentials.ts';
export { STREAMS, SUBJECTS, BUCKETS, SAFE_TOKEN } from './subjects.ts';
export { FRONT_DOORS, doorOf, submissionDoor, type FrontDoor } from './frontDoors.ts';
export { DOOR_KEY_VAR, DOOR_SEAL_HEADER, doorSeal, isDoorSealed, isParentToken, parentToken } from './doorSeal.ts';
export { MSG_ID } from './messageIds.ts';
export { agentConsumer, DEFAULT_CLOUD_TIERS, LANES, lanesFor, workConsumer, workConsumers, type Lane, type WorkerLocation } from './lanes.ts';
export { ensureStreams, streamConfigs, streamOptionsFrom, CONSUMERS, type StreamOptions } from './streams.ts';
export { replicasFor, describeReplicas, ensureStreamReplicas, type ReplicasSetting } from './replicas.ts';
export { encode, decode, MessageError } from './codec.ts';
export * from './messages.ts';
export * from './ledgerApi.ts';
export { LedgerClient, LedgerError, DEFAULT_LEDGER_TIMEOUT_MS, type LedgerClientOptions, type LedgerErrorCode } from './LedgerClient.ts';
export * from './sliceMessages.ts';
export {
  busTlsFiles, busTlsPresent, clientTls, defaultServerNames, makeBusCertificates, opensslAvailable, serverConfFile, serverName,
  TLS_CA_VAR, TLS_DIR, type BusCertificates, type BusTlsFiles, type ServerConf, type ServerName,
} from './tls/index.ts';
export { NatsCluster, type NatsClusterOptions } from './NatsCluster.ts';
export { NatsServerProcess, NatsServerMissingError, NATS_INSTALL_HELP, type NatsServerOptions } from './NatsServerProcess.ts';
export { StreamFollower, type StreamFollowerOptions } from './StreamFollower.ts';
export { followTask, type FollowOptions } from './followTask.ts';
export { isTransientNatsError, retryTransient } from './transient.ts';
export { publishSubmission, type PublishSubmissionOptions } from './publishSubmission.ts';
export { decodeTaskEvents, decodeTaskRecords, type TaskRecordsMessage } from './taskEvents.ts';
export { publishDurably } from './publishDurably.ts';
