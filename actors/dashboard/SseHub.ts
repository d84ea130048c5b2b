/**
 * Server-sent events to every open page (`GET /events`). Plain `text/event-stream` over node:http:
 * browsers reconnect by themselves, and nothing beyond the dashboard's own origin is involved.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A page that stops reading is dropped once this much is queued for it, rather than grow without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** A comment line this often keeps proxies and idle timeouts from closing the stream. */
const KEEPALIVE_MS = 15_000;

/**
 * @example
 * const hub = new SseHub();
 * hub.attach(req, res);           // in the GET /events handler
 * hub.send('task', { taskId });   // to every page
 */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.timer.unref();
  }

  /** Pages connected now. */
  get size(): number {
    return this.clients.size;
  }

  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  /** One event of `type` with `data` as JSON, to every page. */
  send(type: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends every stream (the pages will try to reconnect, and find the server gone). */
  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}
