import type http from 'node:http';
import { TureenError } from '../../common/errors.js';

/** Largest request body of any channel: requests carry paths and options, never file contents. */
const MAX_BODY_BYTES = 256 * 1024;
/** Bytes of request bodies held at once across all requests; beyond it a request is refused, not queued. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** A refusal with its own HTTP status (413, 503) where the error code alone would not say it. */
export class HttpRefusal extends TureenError {
  constructor(
    readonly status: number,
    code: TureenError['code'],
    message: string,
  ) {
    super(code, message);
  }
}

/** Reads JSON request bodies within a per-request limit and a budget shared by all requests in flight. */
export class BodyReader {
  private buffered = 0;

  constructor(
    private readonly maxBody = MAX_BODY_BYTES,
    private readonly maxBuffered = MAX_BUFFERED_BYTES,
  ) {}

  async readJson(req: http.IncomingMessage): Promise<unknown> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBody) throw this.tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        const bytes = chunk as Buffer;
        if (size + bytes.length > this.maxBody) throw this.tooLarge();
        if (this.buffered + bytes.length > this.maxBuffered) {
          throw new HttpRefusal(
            503,
            'conflict',
            'too many large requests at once; retry when the running ones are answered',
          );
        }
        size += bytes.length;
        this.buffered += bytes.length;
        chunks.push(bytes);
      }
    } finally {
      this.buffered -= size;
    }
    if (size === 0) return {};
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new TureenError('bad_request', 'request body is not valid JSON');
    }
  }

  private tooLarge(): HttpRefusal {
    return new HttpRefusal(
      413,
      'bad_request',
      `request body over ${this.maxBody} bytes; no channel takes more (requests carry paths, not files)`,
    );
  }
}
