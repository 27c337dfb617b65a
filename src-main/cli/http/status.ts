import type { ErrorCode } from '../../common/errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  bad_request: 400,
  bad_checkpoint: 422,
  bad_evalset: 422,
  family_mismatch: 422,
  unauthorized: 401,
  not_found: 404,
  unknown_channel: 404,
  conflict: 409,
  cancelled: 409,
  not_supported: 501,
  host_crashed: 503,
};

export function httpStatusFor(code: string): number {
  return STATUS[code as ErrorCode] ?? 500;
}
