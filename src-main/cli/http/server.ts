import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { TureenError, toErrorInfo } from '../../common/errors.js';
import type { Kitchen } from '../../core/kitchen.js';
import { contentType, resolveStatic } from '../../core/renderer-files.js';
import { BodyReader, HttpRefusal } from './body.js';
import { allowedHostNames, bindsAllInterfaces, hostOfHeader, reachableUrls } from './hosts.js';
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
  /** the URL for a browser on this machine */
  url: string;
  /** every URL the UI is reachable at (more than one when bound to 0.0.0.0 or ::) */
  urls: string[];
  /** true when bound to every interface: anyone on the network with the token can use Tureen */
  network: boolean;
  port: number;
  close(): Promise<void>;
}

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
  const status = error instanceof HttpRefusal ? error.status : httpStatusFor(info.code);
  // A refused body is not read to its end: close the connection instead of reading the rest.
  if (error instanceof HttpRefusal) res.setHeader('connection', 'close');
  sendJson(res, status, { error: info });
}

/**
 * Why a request comes from another site, or null. The UI only calls the API from its own origin, so a
 * browser's Sec-Fetch-Site other than same-origin (or none: typed into the address bar), or an Origin other
 * than this server's, means a page elsewhere is calling: refused even when it knows the token.
 */
function crossSiteReason(req: http.IncomingMessage): string | null {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none')
    return `a ${site} request (Sec-Fetch-Site)`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`)
    return `a request from origin ${origin}`;
  return null;
}

/** The channel named by `/api/<channel>`; malformed percent-encoding is the client's error, not ours. */
function channelOf(pathname: string): string {
  try {
    return decodeURIComponent(pathname.slice('/api/'.length));
  } catch {
    throw new TureenError('bad_request', `malformed percent-encoding in ${pathname}`);
  }
}

/** HTTP transport: POST /api/<channel>, GET /api/events (SSE), and the built renderer. No logic of its own. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { kitchen, token, staticDir } = options;
  const hostNames = allowedHostNames(options.host);
  const bodies = new BodyReader();
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
      // A page on another site could resolve its own name to this machine (DNS rebinding); only our names pass.
      if (!hostNames.has(hostOfHeader(req.headers.host))) {
        sendError(
          res,
          new TureenError('unauthorized', `host ${req.headers.host ?? '(none)'} is not allowed`),
        );
        return;
      }
      if (url.pathname.startsWith('/api/')) {
        const crossSite = crossSiteReason(req);
        if (crossSite) {
          sendError(
            res,
            new HttpRefusal(
              403,
              'unauthorized',
              `${crossSite} is refused: only Tureen's own page calls the API`,
            ),
          );
          return;
        }
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
          const channel = channelOf(url.pathname);
          const payload = await bodies.readJson(req);
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
  const urls = reachableUrls(options.host, port, token);
  return {
    url: urls[0]!,
    urls,
    network: bindsAllInterfaces(options.host),
    port,
    close: async () => {
      clearInterval(keepAlive);
      unsubscribe();
      for (const client of sseClients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
