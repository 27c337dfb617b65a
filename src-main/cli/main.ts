import { parseArgs } from 'node:util';
import { TureenError, toErrorInfo } from '../common/errors.js';
import { Kitchen } from '../core/kitchen.js';
import { packageVersion } from '../core/paths.js';
import { spreadMultiValues } from './argv.js';
import type { CliContext, Command, OptionSpec } from './command.js';
import { commands } from './commands/index.js';
import { progressPrinter } from './progress.js';

const GLOBAL_OPTIONS: OptionSpec = {
  json: { type: 'boolean', default: false },
  db: { type: 'string' },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

const GLOBAL_HELP = `  --json       print one JSON document on stdout (progress stays on stderr)
  --db FILE    use this database instead of the shared one (also: TUREEN_HOME=folder)
  --debug      print stack traces on errors
  -h, --help   this help`;

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Tureen — model soups on your own machine',
    '',
    'Usage: tureen <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    GLOBAL_HELP,
    '  --version    print the version',
    '',
    'Run `tureen <command> --help` for a command. docs/cli.md documents every JSON shape.',
  ].join('\n');
}

export interface CliStreams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
}

const processStreams: CliStreams = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
};

/** Runs one CLI invocation; returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], streams: CliStreams = processStreams): Promise<number> {
  const [name, ...rest] = argv;
  const jsonMode = argv.includes('--json');
  const debug = argv.includes('--debug');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    streams.stdout(mainHelp() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    streams.stdout(
      jsonMode
        ? JSON.stringify({ schema: 'tureen/version@1', version: packageVersion() }) + '\n'
        : `tureen ${packageVersion()}\n`,
    );
    return 0;
  }
  let kitchen: Kitchen | null = null;
  try {
    const command: Command | undefined = commands.find((c) => c.name === name);
    if (!command) {
      throw new TureenError('bad_request', `unknown command "${name}"; run \`tureen --help\` for the list`);
    }
    const options = { ...GLOBAL_OPTIONS, ...command.options };
    let parsed;
    try {
      parsed = parseArgs({
        args: spreadMultiValues(rest, options),
        options,
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new TureenError('bad_request', `${(error as Error).message}; run \`tureen ${name} --help\``);
    }
    if (parsed.values.help) {
      streams.stdout(`${command.help}\n\nOptions for every command:\n${GLOBAL_HELP}\n`);
      return 0;
    }
    const dbPath = typeof parsed.values.db === 'string' ? parsed.values.db : undefined;
    const stopProgress: Array<() => void> = [];
    const ctx: CliContext = {
      json: jsonMode,
      note: (line) => streams.stderr(line + '\n'),
      announce: (line) => streams.stdout(line + '\n'),
      kitchen: (transport = 'cli') => {
        if (!kitchen) {
          kitchen = new Kitchen(dbPath ? { transport, databasePath: dbPath } : { transport });
          stopProgress.push(progressPrinter(kitchen.events, streams));
        }
        return kitchen;
      },
    };
    const output = await command.run({ positionals: parsed.positionals, values: parsed.values }, ctx);
    for (const stop of stopProgress) stop();
    if (!output.printed) {
      streams.stdout(
        jsonMode ? JSON.stringify(output.json, null, 2) + '\n' : output.human.replace(/\n?$/, '\n'),
      );
    }
    return 0;
  } catch (error) {
    const info = toErrorInfo(error);
    if (jsonMode) {
      streams.stdout(JSON.stringify({ schema: 'tureen/error@1', error: info }, null, 2) + '\n');
    } else {
      streams.stderr(`tureen: ${info.message}\n`);
    }
    if (debug && error instanceof Error && error.stack) streams.stderr(error.stack + '\n');
    return info.code === 'bad_request' ? 2 : 1;
  } finally {
    (kitchen as Kitchen | null)?.close();
  }
}
