/**
 * Who may open the dashboard. On loopback, anyone on this host (as before keys existed); bound to
 * anything else, only a request carrying a live dashboard key (`koubou keys dashboard create`):
 * `Authorization: Bearer <key>` (curl, Prometheus' `bearer_token`), or the HttpOnly cookie that a
 * browser gets by opening the page once with `?token=<key>`. The key is checked by its SHA-256
 * digest and never written to a log or echoed back.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { KeyAnswers, keyDigest } from '../../src/keys/index.ts';

/** The cookie a browser keeps the key in (HttpOnly: the page's scripts never see it). */
export const KEY_COOKIE = 'koubou_dashboard_key';
/** The query parameter a browser brings the key in, once. */
export const KEY_PARAM = 'token';

/** The ledger's answer about dashboard keys: whose key a digest is, and how many are live. */
export interface DashboardKeyAnswer {
  key: { name: string } | null;
  liveKeys: number;
}
export type DashboardKeyLookup = (digest?: string) => Promise<DashboardKeyAnswer>;

/** What to do with one request. */
export type AccessVerdict =
  | { kind: 'admit' }
  /** A valid `?token=`: keep it in a cookie and load the same address without it. */
  | { kind: 'remember'; location: string; cookie: string }
  | { kind: 'refuse'; message: string };

/**
 * Whether a listen address reaches this host only: `localhost`, 127.0.0.0/8, ::1 (and ::ffff:127.x).
 * Anything else, a name included, may be reached from elsewhere and so needs a key.
 *
 * @example isLoopbackHost('127.0.0.1') // true; isLoopbackHost('0.0.0.0') // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * @example
 * const access = new DashboardAccess((digest) => ledger.dashboardKey(digest));
 * const verdict = await access.check(req, new URL(req.url!, 'http://x'));
 */
export class DashboardAccess {
  /** Answers by digest, for a while: a revoked key stops working within `recheckMs`. */
  private readonly known: KeyAnswers<true>;

  constructor(private readonly lookup: DashboardKeyLookup, recheckMs = 30_000) {
    this.known = new KeyAnswers({ knownMs: recheckMs });
  }

  /** Throws only when the ledger cannot be asked. */
  async check(req: IncomingMessage, url: URL): Promise<AccessVerdict> {
    const fromQuery = url.searchParams.get(KEY_PARAM);
    const key = bearerOf(req) ?? fromQuery ?? cookieOf(req);
    if (!key) return { kind: 'refuse', message: 'this dashboard needs a key: send Authorization: Bearer <key>, or open it once with ?token=<key>; make one with `koubou keys dashboard create NAME`' };
    if (!(await this.isLive(key))) return { kind: 'refuse', message: 'that is not a live dashboard key (unknown or revoked): see `koubou keys dashboard list`' };
    if (fromQuery === null) return { kind: 'admit' };
    const clean = new URL(url);
    clean.searchParams.delete(KEY_PARAM);
    return {
      kind: 'remember',
      location: `${clean.pathname}${clean.search}`,
      cookie: `${KEY_COOKIE}=${encodeURIComponent(key)}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${30 * 24 * 3600}`,
    };
  }

  private async isLive(key: string): Promise<boolean> {
    const digest = keyDigest(key);
    return (await this.known.get(digest, async () => ((await this.lookup(digest)).key !== null ? true : null))) !== null;
  }
}

function bearerOf(req: IncomingMessage): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
}

function cookieOf(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === KEY_COOKIE) {
      try {
        return decodeURIComponent(value.join('=')) || null;
      } catch {
        return null;
      }
    }
  }
  return null;
}
