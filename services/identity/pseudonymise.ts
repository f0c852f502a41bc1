import { derivePersonKey, encryptNationalId } from './person-key';
import { normalizeNationalId } from './national-id';

export interface IdentitySecrets {
  readonly personKeySecret: Buffer;
  readonly idEncryptionKey: Buffer;
}

export interface PseudonymisedId {
  readonly personKey: string;
  /** AES-256-GCM ciphertext of the normalised number, bound to the person key. */
  readonly idCipher: string;
}

/** What a connector does at the door: validate, derive the key, seal the clear number. */
export function pseudonymise(rawId: string, today: string, secrets: IdentitySecrets): PseudonymisedId {
  return pseudonymiseNormalized(normalizeNationalId(rawId, today), secrets);
}

/**
 * The same for a number the caller has already validated and normalised (validateNationalId's
 * `normalized`), so the intake does not validate every number twice.
 */
export function pseudonymiseNormalized(normalized: string, secrets: IdentitySecrets): PseudonymisedId {
  const personKey = derivePersonKey(normalized, secrets.personKeySecret);
  return { personKey, idCipher: encryptNationalId(normalized, secrets.idEncryptionKey, personKey) };
}
