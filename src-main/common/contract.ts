import type { z } from 'zod';

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

/** One event pushed from the service to every client. */
export interface EventDef<Payload extends z.ZodType = z.ZodType> {
  summary: string;
  payload: Payload;
}

export function event<Payload extends z.ZodType>(summary: string, payload: Payload): EventDef<Payload> {
  return { summary, payload };
}
