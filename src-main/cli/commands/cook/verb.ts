import type { CliContext, CommandOutput, OptionSpec, ParsedArgs } from '../../command.js';

/** One `tureen cook <verb>`: its own options (merged into cook's; equal names must mean the same). */
export interface CookVerb {
  name: string;
  summary: string;
  /** usage line and option help, shown by `tureen cook --help` */
  help: string;
  options: OptionSpec;
  run(args: ParsedArgs, ctx: CliContext): Promise<CommandOutput>;
}
