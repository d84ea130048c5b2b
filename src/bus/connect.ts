import { connect, type NatsConnection } from '@nats-io/transport-node';
import { InputError, KoubouError } from '../core/errors.ts';
import { passwordVar, type Role } from './credentials.ts';
import { clientTls, tlsFailureHint } from './tls/clientTls.ts';

/** The inbox prefix of each role, matching nats.conf: replies to one role are invisible to others. */
export const INBOX_PREFIX: Record<Role, string> = {
  router: '_INBOX_router',
  ledger: '_INBOX_ledger',
  cloud_worker: '_INBOX_cloud',
  local_worker: '_INBOX_local',
  submitter: '_INBOX_submit',
  dashboard: '_INBOX_dashboard',
  gateway: '_INBOX_gateway',
  mcp: '_INBOX_mcp',
};

export interface BusOptions {
  /** nats:// URL, or tls:// to require TLS (also required whenever `env` names a CA, KOUBOU_NATS_TLS_CA). */
  url: string;
  role: Role;
  /** Password; default: the role's variable in `env` (KOUBOU_NATS_<ROLE>_PASSWORD). */
  password?: string;
  env?: Record<string, string | undefined>;
  /** Shown in the server's connection list. */
  name?: string;
}

/**
 * Connects to NATS as one of koubou's roles, at a URL or a comma-separated list of them (the
 * nodes of a cluster). Reconnects forever: actors ride out a server restart.
 *
 * @example
 * const nc = await connectBus({ url: 'nats://127.0.0.1:4222', role: 'submitter' });
 */
export async function connectBus(options: BusOptions): Promise<NatsConnection> {
  const env = options.env ?? process.env;
  const pass = options.password ?? env[passwordVar(options.role)];
  const tls = clientTls(options.url, env);
  try {
    return await connect({
      // `NATS_URL=nats://a:4222,nats://b:4222`: any node of a cluster, the client moves to another when its own goes.
      servers: options.url.split(',').map((u) => u.trim()).filter(Boolean),
      user: options.role,
      ...(pass ? { pass } : {}),
      inboxPrefix: INBOX_PREFIX[options.role],
      // The server is verified with the CA; its certificate's names are checked against the URL's host by clientTls (nats.js gives node:tls none for an IP).
      ...(tls ? { tls } : {}),
      name: options.name ?? `koubou-${options.role}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
      // nats.js otherwise builds an Error (with its stack) for every request just in
      // case it times out: measured at ~14 % of the router's CPU under load.
      noAsyncTraces: true,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // A certificate that does not verify is the user's to fix (the CA, the name), not fixed by trying again.
    const tlsHint = tlsFailureHint(msg, options.url, tls);
    if (tlsHint) throw new InputError(`cannot connect to NATS at ${options.url} as ${options.role}: ${msg}${tlsHint}`, { code: 'NATS_TLS_FAILED', cause: e });
    const hint = /auth|authorization/i.test(msg)
      ? ` (check ${passwordVar(options.role)}; \`koubou init\` writes .koubou/credentials.env)`
      : ' (is nats-server running? `koubou up` starts one)';
    throw new KoubouError('NATS_CONNECT_FAILED', `cannot connect to NATS at ${options.url} as ${options.role}: ${msg}${hint}`, {
      retryable: true, cause: e,
    });
  }
}
