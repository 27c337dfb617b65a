import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { TureenError, toErrorInfo } from '../../common/errors.js';
import type { Kitchen } from '../../core/kitchen.js';
import { contentType, resolveStatic } from '../../core/renderer-files.js';
import { httpStatusFor } from './status.js';

export interface ServeOptions {
  kitchen: Kitchen;
  host: string;
  port: number;
  token: string;
  /** the built renderer (out/renderer) */
  staticDir: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

// The renderer needs nothing from outside this origin; inline styles are Svelte's transitions.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function sameToken(given: string | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function tokenOf(req: http.IncomingMessage, url: URL): string | null {
  const header = req.headers['x-tureen-token'];
  if (typeof header === 'string') return header;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return url.searchParams.get('token');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: http.ServerResponse, error: unknown): void {
  const info = toErrorInfo(error);
  sendJson(res, httpStatusFor(info.code), { error: info });
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new TureenError('bad_request', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TureenError('bad_request', 'request body is not valid JSON');
  }
}

/** HTTP transport: POST /api/<channel>, GET /api/events (SSE), and the built renderer. No logic of its own. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { kitchen, token, staticDir } = options;
  const loopbackOnly = LOOPBACK.has(options.host);
  const sseClients = new Set<http.ServerResponse>();

  const unsubscribe = kitchen.events.subscribe((name, payload) => {
    const frame = `data: ${JSON.stringify({ name, payload })}\n\n`;
    for (const client of sseClients) client.write(frame);
  });
  const keepAlive = setInterval(() => {
    for (const client of sseClients) client.write(': keep-alive\n\n');
  }, 15_000);

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      // A page on another site could resolve its own name to 127.0.0.1 (DNS rebinding); only our names pass.
      const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (loopbackOnly && !LOOPBACK.has(hostName)) {
        sendError(
          res,
          new TureenError('unauthorized', `host ${req.headers.host ?? '(none)'} is not allowed`),
        );
        return;
      }
      if (url.pathname.startsWith('/api/')) {
        if (!sameToken(tokenOf(req, url), token)) {
          sendError(
            res,
            new TureenError(
              'unauthorized',
              'missing or wrong token: open the URL that `tureen serve` printed',
            ),
          );
          return;
        }
        if (url.pathname === '/api/events' && req.method === 'GET') {
          res.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            connection: 'keep-alive',
          });
          res.write(': connected\n\n');
          sseClients.add(res);
          req.on('close', () => sseClients.delete(res));
          return;
        }
        if (req.method !== 'POST') {
          sendError(res, new TureenError('bad_request', `use POST for ${url.pathname}`));
          return;
        }
        try {
          const payload = await readJsonBody(req);
          const channel = decodeURIComponent(url.pathname.slice('/api/'.length));
          sendJson(res, 200, await kitchen.invoke(channel, payload));
        } catch (error) {
          sendError(res, error);
        }
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, new TureenError('bad_request', `${req.method} is not allowed here`));
        return;
      }
      const file = resolveStatic(staticDir, url.pathname);
      if (!file) {
        sendError(res, new TureenError('not_found', `no such page: ${url.pathname}`));
        return;
      }
      res.writeHead(200, {
        'content-type': contentType(file),
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': file.endsWith('index.html') ? 'no-store' : 'max-age=3600',
      });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    })().catch((error: unknown) => {
      if (!res.headersSent) sendError(res, error);
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new TureenError('conflict', `port ${options.port} is in use; pick another with --port`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const hostForUrl = shownHost.includes(':') && !shownHost.startsWith('[') ? `[${shownHost}]` : shownHost;
  return {
    url: `http://${hostForUrl}:${port}/?token=${token}`,
    port,
    close: async () => {
      clearInterval(keepAlive);
      unsubscribe();
      for (const client of sseClients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
