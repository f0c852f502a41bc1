import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { HubError } from '../platform';

/**
 * The person key: HMAC-SHA256 of the normalised 18-digit number under the hub's secret, as 64 hex
 * digits. It is the only identity on topics, in Redis and in logs. Without the secret it cannot be
 * reversed or recomputed from a guessed number, which a plain hash of a 18-digit number could.
 */
export function derivePersonKey(normalizedId: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(normalizedId, 'utf8').digest('hex');
}

/**
 * Clear ID numbers are kept as AES-256-GCM ciphertext: `v1.<iv>.<ciphertext>.<tag>`, base64url parts.
 * The version prefix names the key generation so keys can be rotated. The person key is bound in as
 * additional data, so a ciphertext moved onto another person's record fails to decrypt.
 */
const version = 'v1';

export function encryptNationalId(normalizedId: string, key: Buffer, personKey: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(personKey, 'utf8'));
  const body = Buffer.concat([cipher.update(normalizedId, 'utf8'), cipher.final()]);
  return [version, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
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
