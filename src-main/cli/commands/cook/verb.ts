import type { Channel } from '../../../common/api.js';
import { TureenError } from '../../../common/errors.js';
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

/** Start a job through the contract and wait for its result (progress reaches stderr via the job events). */
export async function runJob<T>(ctx: CliContext, channelName: Channel, payload: unknown): Promise<T> {
  const kitchen = ctx.kitchen();
  const { jobId } = (await kitchen.invoke(channelName, payload)) as { jobId: string };
  const summary = await kitchen.jobs.wait(jobId);
  if (summary.state === 'done') return summary.result as T;
  const error = summary.error ?? { code: 'cancelled', message: 'cancelled' };
  throw new TureenError(error.code as TureenError['code'], error.message, error.detail);
}
