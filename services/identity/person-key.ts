import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { HubError } from '../platform';

/**
 * Secrets as KeyObjects, made once per secret Buffer: createHmac with a raw Buffer imports the key
 * on every call, which on the intake's hot path costs about a quarter of the HMAC. The config keeps
 * its secret Buffers for the life of the process and never writes into them, so the identity of the
 * Buffer is a safe cache key (a WeakMap, so a dropped secret is not kept alive).
 */
const keyObjects = new WeakMap<Buffer, KeyObject>();

function keyObject(secret: Buffer): KeyObject {
  let key = keyObjects.get(secret);
  if (key === undefined) {
    key = createSecretKey(secret);
    keyObjects.set(secret, key);
  }
  return key;
}

/**
 * The person key: HMAC-SHA256 of the normalised 18-digit number under the hub's secret, as 64 hex
 * digits. It is the only identity on topics, in Redis and in logs. Without the secret it cannot be
 * reversed or recomputed from a guessed number, which a plain hash of a 18-digit number could.
 */
export function derivePersonKey(normalizedId: string, secret: Buffer): string {
  return createHmac('sha256', keyObject(secret)).update(normalizedId, 'utf8').digest('hex');
}

/**
 * AES-GCM needs a unique 96-bit IV per encryption under one key; random IVs from the CSPRNG give
 * that. Asking the CSPRNG for 12 bytes per record cost about 2 µs each (a native call and a fresh
 * Buffer), so IVs are cut from a pool of random bytes refilled in place once used up. Every IV is
 * still fresh CSPRNG output used exactly once: the pool is refilled before any byte is handed out
 * again, and each IV is consumed (copied by createCipheriv, and into the sealed text) before the next
 * call can refill the pool, all synchronously.
 */
const ivLength = 12;
const ivPool = Buffer.allocUnsafeSlow(64 * 1024 - ((64 * 1024) % ivLength));
let ivOffset = ivPool.length;

function nextIv(): Buffer {
  if (ivOffset + ivLength > ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + ivLength);
  ivOffset += ivLength;
  return iv;
}

/**
 * Clear ID numbers are kept as AES-256-GCM ciphertext: `v1.<iv>.<ciphertext>.<tag>`, base64url parts.
 * The version prefix names the key generation so keys can be rotated. The person key is bound in as
 * additional data, so a ciphertext moved onto another person's record fails to decrypt.
 */
const version = 'v1';

export function encryptNationalId(normalizedId: string, key: Buffer, personKey: string): string {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), iv);
  cipher.setAAD(Buffer.from(personKey, 'utf8'));
  // GCM is a stream mode: update() returns every byte and final() none, so no concatenation is needed
  // in practice; the concat stays for the case a future OpenSSL holds bytes back.
  const head = cipher.update(normalizedId, 'utf8');
  const tail = cipher.final();
  const body = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return `${version}.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

export function decryptNationalId(sealed: string, key: Buffer, personKey: string): string {
  const [prefix, iv, body, tag] = sealed.split('.');
  if (prefix !== version || iv === undefined || body === undefined || tag === undefined) {
    throw new HubError('CRYPTO_FAILED', 'not a sealed ID number of a known version');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(personKey, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new HubError('CRYPTO_FAILED', 'sealed ID number failed authentication (wrong key or tampered)', { cause: error });
  }
}
