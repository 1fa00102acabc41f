/** Exponential backoff with full jitter, for the partial failures the SDK does not retry itself. */
export interface RetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 5_000 };

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits before retry number `attempt` (1 for the first retry). */
export function backoff(attempt: number, options: RetryOptions): Promise<void> {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return (options.sleep ?? realSleep)(Math.random() * cap);
}

/** Thrown when a partial failure is still there after every attempt; the caller fails the record. */
export class RetriesExhaustedError extends Error {
  constructor(
    message: string,
    readonly remaining: number,
  ) {
    super(message);
    this.name = 'RetriesExhaustedError';
  }
}
