import { z } from 'zod';

/** One call of the API: a `domain:verb` name, a request schema and a response schema. */
export interface ChannelDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  summary: string;
  request: Req;
  response: Res;
}

export function channel<Req extends z.ZodType, Res extends z.ZodType>(
  summary: string,
  request: Req,
  response: Res,
): ChannelDef<Req, Res> {
  return { summary, request, response };
}

/** What every channel that starts a job answers at once; the outcome arrives later (`job:state`). */
export const JobStarted = z.object({ jobId: z.string() });

/**
 * A channel that starts a job: it answers `{jobId}` at once, and the finished job's `result` has the type
 * declared here, so `jobs.wait(channel, jobId)` is typed on every side without a cast at the call.
 */
export interface JobChannelDef<
  Req extends z.ZodType = z.ZodType,
  Result extends z.ZodType = z.ZodType,
> extends ChannelDef<Req, typeof JobStarted> {
  result: Result;
}

export function jobChannel<Req extends z.ZodType, Result extends z.ZodType>(
  summary: string,
  request: Req,
  result: Result,
): JobChannelDef<Req, Result> {
  return { summary, request, response: JobStarted, result };
}

/** One event pushed from the service to every client. */
export interface EventDef<Payload extends z.ZodType = z.ZodType> {
  summary: string;
  payload: Payload;
}

export function event<Payload extends z.ZodType>(summary: string, payload: Payload): EventDef<Payload> {
  return { summary, payload };
}
