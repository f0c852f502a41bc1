import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The webhook signature: HMAC-SHA256, keyed with the secret the hub shares with the agency, over
 * `${timestamp}.${body}` (the Unix time in seconds as sent in the timestamp header, a dot, the raw
 * body bytes), as lowercase hex in the signature header as `sha256=<hex>`. Signing the timestamp
 * with the body lets a receiver refuse a replay of an old delivery: it accepts a timestamp within
 * `skewSeconds` of its own clock (5 minutes unless agreed otherwise) and nothing older.
 */
export const signatureHeader = 'x-hub-signature';
export const timestampHeader = 'x-hub-timestamp';
export const deliveryIdHeader = 'x-hub-delivery';
export const defaultSkewSeconds = 300;

export function sign(secret: string, timestamp: number, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** What a receiver does: true when the signature is the body's and the timestamp within the window. */
export function verify(options: {
  secret: string;
  body: string | Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  now?: number;
  skewSeconds?: number;
}): boolean {
  const { timestamp, signature } = options;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.skewSeconds ?? defaultSkewSeconds)) return false;
  const expected = Buffer.from(sign(options.secret, Number(timestamp), options.body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
