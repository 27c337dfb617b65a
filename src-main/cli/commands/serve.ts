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
requests without it are refused. Binds 127.0.0.1 unless --host says otherwise
(with another host, anyone who can reach it and has the token can use Tureen).`,
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
    const server = await startServer({
      kitchen,
      host: stringOption(args, 'host') ?? '127.0.0.1',
      port,
      token,
      staticDir,
    });
    ctx.announce(
      ctx.json
        ? JSON.stringify({ schema: 'tureen/serve@1', url: server.url, port: server.port })
        : `Tureen is serving at ${server.url}`,
    );
    ctx.note('Open that URL in a browser. Press Ctrl+C to stop.');
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return { json: { schema: 'tureen/serve@1', url: server.url, stopped: true }, human: 'stopped' };
  },
};
