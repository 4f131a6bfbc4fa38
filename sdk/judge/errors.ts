import { EraserError } from '../runtime/errors';

/** A judge endpoint that failed (down, timing out, HTTP error, malformed body) after its retries. */
export class JudgeError extends EraserError {
  readonly url?: string;
  readonly status?: number;
  readonly attempts?: number;
  constructor(message: string, opts: { url?: string; status?: number; attempts?: number } = {}) {
    super(message);
    this.url = opts.url;
    this.status = opts.status;
    this.attempts = opts.attempts;
  }
}
