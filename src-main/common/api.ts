import type { z } from 'zod';
import { advisorApi } from './api/advisor.js';
import { appApi } from './api/app.js';
import { checkpointsApi, checkpointsEvents } from './api/checkpoints.js';
import { evalsetsApi } from './api/evalsets.js';
import { evaluationsApi } from './api/evaluations.js';
import { jobsApi, jobsEvents } from './api/jobs.js';
import { kitchensApi, kitchensEvents } from './api/kitchens.js';
import { recipesApi, recipesEvents } from './api/recipes.js';
import { reportsApi } from './api/reports.js';
import type { JobChannelDef } from './contract.js';

/**
 * The whole contract between the renderer (or any client) and the Kitchen service.
 * Each domain keeps its channels in ./api/<domain>.ts; register them here.
 */
export const api = {
  ...appApi,
  ...advisorApi,
  ...checkpointsApi,
  ...evalsetsApi,
  ...evaluationsApi,
  ...recipesApi,
  ...jobsApi,
  ...kitchensApi,
  ...reportsApi,
};

export const events = {
  ...checkpointsEvents,
  ...jobsEvents,
  ...kitchensEvents,
  ...recipesEvents,
};

export type Api = typeof api;
export type Channel = keyof Api;
export type ApiRequest<C extends Channel> = z.input<Api[C]['request']>;
export type ApiResponse<C extends Channel> = z.output<Api[C]['response']>;

/** The channels that start a job (declared with `jobChannel`), and the result type of each job. */
export type JobChannel = { [C in Channel]: Api[C] extends JobChannelDef ? C : never }[Channel];
export type JobResult<C extends JobChannel> = z.output<Api[C]['result']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]['payload']>;

export function isChannel(name: string): name is Channel {
  return Object.prototype.hasOwnProperty.call(api, name);
}
