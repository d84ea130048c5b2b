/**
 * The dashboard's HTTP surface on node:http: the page's static files, the JSON API, the
 * Prometheus text and the event stream. Every asset is served from here and the Content-Security-
 * Policy forbids the page any other origin, so it works on a LAN with no internet access.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { SAFE_TOKEN } from '../../src/bus/index.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/dashboard/prometheus.ts';
import { repoPath } from '../../src/core/repoPath.ts';
import type { DashboardAccess } from './access.ts';
import { KEY_PAGE_CSP, keyPage } from './keyPage.ts';

/** What the routes call; the Dashboard provides it. */
export interface DashboardRoutes {
  status(): Promise<unknown>;
  metrics(): Promise<unknown>;
  workers(): Promise<unknown>;
  tasks(filter: { limit: number; status?: string; tier?: string; text?: string; group?: string }): unknown;
  /** The task list's groups: a session's turns, a parent's children. */
  sessions(limit: number): unknown;
  /** The ledger's task trees, each task with what its events say. */
  trees(): Promise<unknown>;
  /** null: no such task anywhere. */
  task(taskId: string): Promise<unknown | null>;
  costs(): Promise<unknown>;
  feed(limit: number): unknown;
  statechart(): unknown;
  prometheus(): Promise<string>;
  events(req: IncomingMessage, res: ServerResponse): void;
}

interface StaticFile {
  type: string;
  body: Buffer;
}

const STATIC_DIR = pathToFileURL(repoPath('src', 'dashboard', 'static') + '/');
const STATIC: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/dom.js': ['dom.js', 'text/javascript; charset=utf-8'],
  '/groups.js': ['groups.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};

/** The page may talk to its own origin only (no CDN, no font host, no analytics). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** Reads the page's files once, at start: a missing one fails the start, not a page load. */
export function loadStaticFiles(): Map<string, StaticFile> {
  return new Map(Object.entries(STATIC).map(([path, [file, type]]) => [path, { type, body: readFileSync(new URL(file, STATIC_DIR)) }]));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-store', extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': cache,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    ...extra,
  });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), 'no-store', extra);

/**
 * The request handler.
 * @example http.createServer(createHandler(routes, loadStaticFiles(), console.error));
 */
export function createHandler(routes: DashboardRoutes, files: Map<string, StaticFile>, log: (line: string) => void, access?: DashboardAccess): RequestListener {
  const serve = serveAdmitted(routes, files, log);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: `${req.method} not allowed: the dashboard is read-only` });
      return;
    }
    if (!access) return serve(req, res, url);
    access.check(req, url).then((verdict) => {
      if (verdict.kind === 'admit') return serve(req, res, url);
      if (verdict.kind === 'remember') return send(res, 303, 'text/plain; charset=utf-8', '', 'no-store', { Location: verdict.location, 'Set-Cookie': verdict.cookie });
      // A browser gets a form to type the key into; a program gets JSON and the scheme to use.
      if (/\btext\/html\b/.test(req.headers.accept ?? '')) return send(res, 401, 'text/html; charset=utf-8', keyPage(verdict.message), 'no-store', { 'Content-Security-Policy': KEY_PAGE_CSP });
      json(res, 401, { error: verdict.message }, { 'WWW-Authenticate': 'Bearer realm="koubou dashboard"' });
    }, (e: unknown) => {
      log(`dashboard: cannot check a dashboard key: ${(e as Error).message}`);
      json(res, 503, { error: `cannot check the dashboard key now: ${(e as Error).message}` });
    });
  };
}

/** Answers a request that may see the dashboard. */
function serveAdmitted(routes: DashboardRoutes, files: Map<string, StaticFile>, log: (line: string) => void) {
  return (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const file = files.get(url.pathname);
    if (file) { send(res, 200, file.type, file.body, 'no-cache'); return; }
    if (url.pathname === '/events') { routes.events(req, res); return; }
    route(routes, url).then(
      (answer) => {
        if (answer === undefined) json(res, 404, { error: `no such resource: ${url.pathname}` });
        else if (answer === null) json(res, 404, { error: `unknown task ${url.pathname.split('/').pop()}` });
        else if (typeof answer === 'string') send(res, 200, PROMETHEUS_CONTENT_TYPE, answer);
        else json(res, 200, answer);
      },
      (e: unknown) => {
        // Mostly "no ledger answered": the page shows it and keeps its live view.
        log(`dashboard: ${url.pathname}: ${(e as Error).message}`);
        json(res, e instanceof BadRequest ? 400 : 503, { error: (e as Error).message });
      },
    );
  };
}

class BadRequest extends Error {}

/** undefined: no route; null: the resource does not exist. */
async function route(routes: DashboardRoutes, url: URL): Promise<unknown> {
  const q = url.searchParams;
  const limit = (max: number, fallback: number) => {
    const n = q.has('limit') ? Number(q.get('limit')) : fallback;
    if (!Number.isInteger(n) || n < 1 || n > max) throw new BadRequest(`limit must be an integer 1..${max}`);
    return n;
  };
  switch (url.pathname) {
    case '/api/status': return routes.status();
    case '/api/metrics': return routes.metrics();
    case '/api/workers': return routes.workers();
    case '/api/costs': return routes.costs();
    case '/api/statechart': return routes.statechart();
    case '/api/feed': return routes.feed(limit(300, 100));
    case '/api/sessions': return routes.sessions(limit(1000, 100));
    case '/api/trees': return routes.trees();
    case '/metrics': return routes.prometheus();
    case '/api/tasks': return routes.tasks({
      limit: limit(1000, 100),
      ...(q.get('status') ? { status: q.get('status')! } : {}),
      ...(q.get('tier') ? { tier: q.get('tier')! } : {}),
      ...(q.get('q') ? { text: q.get('q')! } : {}),
      ...(q.get('group') ? { group: q.get('group')! } : {}),
    });
  }
  const m = /^\/api\/tasks\/([^/]+)$/.exec(url.pathname);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    if (!SAFE_TOKEN.test(id)) throw new BadRequest(`"${id}" is not a task id (letters, digits, _ and -)`);
    return routes.task(id);
  }
  return undefined;
}
