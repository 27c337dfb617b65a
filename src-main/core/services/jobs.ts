import type { Handlers, ServiceContext } from '../service.js';

export function jobHandlers(ctx: ServiceContext): Handlers<'jobs:list' | 'jobs:get' | 'jobs:cancel'> {
  return {
    'jobs:list': () => ({ jobs: ctx.jobs.list() }),
    'jobs:get': (req) => ctx.jobs.get(req.jobId),
    'jobs:cancel': (req) => ({ cancelled: ctx.jobs.cancel(req.jobId) }),
  };
}
