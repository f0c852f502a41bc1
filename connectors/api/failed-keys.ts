import { isIPv6 } from 'node:net';

/**
 * Failed API keys per source address: a client that keeps presenting unknown, revoked or no keys is
 * slowed, then refused with 429 and a Retry-After, so that it cannot keep the connector busy with
 * guesses or fill the logs. A token bucket per address: `attempts` failures at once, refilled at
 * `attempts` per `windowMs`. Good keys are never counted and never refused (an agency behind the same
 * address as a misconfigured client keeps working). At most `maxAddresses` addresses are remembered,
 * the least recently failing forgotten first, so memory is bounded whoever sends.
 */
export interface FailedKeyLimits {
  readonly attempts: number;
  readonly windowMs: number;
  readonly maxAddresses: number;
}

export interface FailedKeyLimiter {
  /** Seconds until the address may present a key again; 0 when it may now. */
  retryAfterSeconds(address: string): number;
  /** Counts a failed key from the address. */
  failed(address: string): void;
  /** How many addresses are remembered (for tests and metrics). */
  readonly size: number;
}

/**
 * The part of an address that names one client: an IPv4 address (also written IPv4-mapped), or the
 * /64 prefix of an IPv6 address, which one host commonly holds whole.
 */
export function clientOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function createFailedKeyLimiter(limits: FailedKeyLimits, now: () => number = Date.now): FailedKeyLimiter {
  const ratePerMs = limits.attempts / limits.windowMs;
  /** Tokens left and when they were counted; Map order is least recently failing first. */
  const buckets = new Map<string, { tokens: number; at: number }>();

  const tokensOf = (client: string, at: number): number => {
    const bucket = buckets.get(client);
    if (bucket === undefined) return limits.attempts;
    return Math.min(limits.attempts, bucket.tokens + (at - bucket.at) * ratePerMs);
  };

  return {
    retryAfterSeconds(address) {
      const at = now();
      const tokens = tokensOf(clientOf(address), at);
      return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000));
    },
    failed(address) {
      const client = clientOf(address);
      const at = now();
      const tokens = Math.max(0, tokensOf(client, at) - 1);
      buckets.delete(client);
      buckets.set(client, { tokens, at });
      while (buckets.size > limits.maxAddresses) {
        const oldest = buckets.keys().next().value;
        if (oldest === undefined) break;
        buckets.delete(oldest);
      }
    },
    get size() {
      return buckets.size;
    },
  };
}
