import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import { assertRendererBuilt, rendererDir } from '../../core/renderer-files.js';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { startServer } from '../http/server.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the app in your browser (local web UI), for machines without a display',
  help: `Usage: tureen serve [--host 127.0.0.1] [--port 7878] [--token T]

Serves the Tureen UI and API on this machine. The printed URL carries a random token;
requests without it are refused, and so are requests from pages of other sites. Binds
127.0.0.1 unless --host says otherwise: with --host 0.0.0.0 (or ::) the UI is reachable
from the network, the token is then the only guard, and only this machine's addresses
and host name are accepted in the Host header.

With --json, prints one document ({schema, url, urls, port, network}) when it is ready
and nothing more on stdout when it stops.`,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7878' },
    token: { type: 'string' },
    'static-dir': { type: 'string' },
  },
  async run(args, ctx) {
    const port = Number(stringOption(args, 'port'));
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TureenError('bad_request', `--port must be 0..65535, got ${stringOption(args, 'port')}`);
    }
    const token = stringOption(args, 'token') ?? randomBytes(24).toString('hex');
    if (token.length < 8) throw new TureenError('bad_request', '--token must be at least 8 characters');
    const staticDir = path.resolve(stringOption(args, 'static-dir') ?? rendererDir());
    assertRendererBuilt(staticDir);
    const kitchen = ctx.kitchen('http');
    const host = stringOption(args, 'host') ?? '127.0.0.1';
    const server = await startServer({
      kitchen,
      host,
      port,
      token,
      staticDir,
    });
    // Listen for the stop signal before announcing: a supervisor may send it as soon as it reads the URL.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    if (server.network) {
      ctx.note(
        `warning: --host ${host} makes the UI reachable from the network; anyone who can reach this machine and has the token can read your registered kitchens and cook. Reachable at:\n${server.urls.map((u) => `  ${u}`).join('\n')}`,
      );
    }
    const document = {
      schema: 'tureen/serve@1',
      url: server.url,
      urls: server.urls,
      port: server.port,
      network: server.network,
    };
    ctx.announce(ctx.json ? JSON.stringify(document) : `Tureen is serving at ${server.url}`);
    ctx.note('Open that URL in a browser. Press Ctrl+C to stop.');
    await stopped;
    await server.close();
    // The document was announced when serving started; a second one would break `--json` readers.
    return { json: document, human: 'stopped', printed: ctx.json };
  },
};
