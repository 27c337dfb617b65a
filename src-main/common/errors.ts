/** Error codes that cross the API boundary. Add new ones here, never ad-hoc strings. */
const ERROR_CODES = [
  'bad_request',
  'unknown_channel',
  'unauthorized',
  'not_found',
  'conflict',
  'io_error',
  'bad_checkpoint',
  /** a readable pickle that holds no model weights (HF's optimizer.pt, scheduler.pt, rng_state.pth) */
  'not_a_model',
  'bad_evalset',
  'family_mismatch',
  'not_supported',
  'cancelled',
  'inference_failed',
  'host_crashed',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The serialisable shape every transport uses for failures. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  detail?: unknown;
}

export class TureenError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;

  constructor(code: ErrorCode, message: string, detail?: unknown) {
    super(message);
    this.name = 'TureenError';
    this.code = code;
    this.detail = detail;
  }

  toInfo(): ErrorInfo {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

function isErrorInfo(value: unknown): value is ErrorInfo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string';
}

/** Any thrown value as an ErrorInfo; unexpected errors keep their message but become `internal`. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof TureenError) return error.toInfo();
  if (isErrorInfo(error) && (ERROR_CODES as readonly string[]).includes(error.code)) return error;
  if (error instanceof Error) {
    const errno = (error as { code?: unknown }).code;
    if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno)) {
      return { code: 'io_error', message: error.message };
    }
    return { code: 'internal', message: error.message };
  }
  return { code: 'internal', message: String(error) };
}
