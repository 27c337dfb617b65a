import type { ParseArgsConfig } from 'node:util';
import type { Kitchen } from '../core/kitchen.js';
import type { Transport } from '../core/service.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
}

/** What a command needs from the outside world; tests pass their own. */
export interface CliContext {
  /** the shared service, opened on first use (serve opens it as the HTTP transport) */
  kitchen(transport?: Transport): Kitchen;
  /** progress and notes for humans, always on stderr */
  note(line: string): void;
  /** stdout, for long-running commands (serve) that announce something before they finish */
  announce(line: string): void;
  json: boolean;
}

export interface CommandOutput {
  /** the --json document; must carry "schema": "tureen/<command>@1" */
  json: { schema: string } & Record<string, unknown>;
  /** what a human sees on stdout */
  human: string;
  /** true when the command already wrote its document to stdout (serve announces it when ready) */
  printed?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** full help text shown by `tureen <name> --help` (usage line first) */
  help: string;
  options: OptionSpec;
  run(args: ParsedArgs, ctx: CliContext): Promise<CommandOutput>;
}

/** All values of an option declared `multiple` (repeated, or space-separated: see spreadMultiValues). */
export function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => String(v)).filter((v) => v.length > 0);
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (Array.isArray(value)) return value.length ? String(value[value.length - 1]) : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}
