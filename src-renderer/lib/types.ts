import type { ApiResponse, EventPayload } from '../../src-main/common/api';

export type AppInfo = ApiResponse<'app:info'>;
export type Kitchen = ApiResponse<'kitchens:list'>['kitchens'][number];
export type JobSummary = ApiResponse<'jobs:get'>;
export type JobProgress = EventPayload<'job:progress'>;
