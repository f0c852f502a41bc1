import { describe, expect, it } from 'vitest';
import { HubError } from '../../../services/platform';
import { decryptNationalId, derivePersonKey, encryptNationalId, pseudonymise } from '../../../services/identity';

const secrets = { personKeySecret: Buffer.alloc(32, 1), idEncryptionKey: Buffer.alloc(32, 2) };

describe('person key and sealed ID numbers', () => {
  it('derives the HMAC-SHA256 person key of the normalised number', () => {
    // echo -n 11010519491231002X | openssl dgst -sha256 -mac HMAC -macopt hexkey:0101…01 (32 bytes)
    expect(derivePersonKey('11010519491231002X', secrets.personKeySecret)).toBe(
      'f532cf1203443ad49f73bb91d9c59c3ecf5003e5d46158e73994648fddd2d2f2',
    );
  });

  it('gives the same person key for a legacy 15-digit number and its 18-digit form', () => {
    const a = pseudonymise('110105491231002', '2026-11-22', secrets);
    const b = pseudonymise('11010519491231002X', '2026-11-22', secrets);
    expect(a.personKey).toBe(b.personKey);
    expect(a.idCipher).not.toBe(b.idCipher); // fresh IV each time
  });

  it('gives different keys under different secrets', () => {
    expect(derivePersonKey('11010519491231002X', Buffer.alloc(32, 1))).not.toBe(derivePersonKey('11010519491231002X', Buffer.alloc(32, 3)));
  });

  it('round-trips a sealed number and never shows it in the ciphertext', () => {
    const personKey = derivePersonKey('11010519491231002X', secrets.personKeySecret);
    const sealed = encryptNationalId('11010519491231002X', secrets.idEncryptionKey, personKey);
    expect(sealed).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(sealed).not.toContain('1101051949');
    expect(decryptNationalId(sealed, secrets.idEncryptionKey, personKey)).toBe('11010519491231002X');
  });

  it('refuses a ciphertext moved onto another person, or opened with the wrong key', () => {
    const sealed = encryptNationalId('11010519491231002X', secrets.idEncryptionKey, 'person-a');
    expect(() => decryptNationalId(sealed, secrets.idEncryptionKey, 'person-b')).toThrow(HubError);
    expect(() => decryptNationalId(sealed, Buffer.alloc(32, 9), 'person-a')).toThrow(/failed authentication/);
  });

  it('refuses an invalid number with the reason and without echoing it', () => {
    expect(() => pseudonymise('110105194912310021', '2026-11-22', secrets)).toThrow(
      'the check character does not match (GB 11643 MOD 11-2)',
    );
  });
});

describe('IVs from the random pool', () => {
  it('never repeats an IV, across refills of the pool, and every ciphertext opens', () => {
    const personKey = derivePersonKey('11010519491231002X', secrets.personKeySecret);
    const ivs = new Set<string>();
    // 64 KiB of pool is 5,461 IVs: 12,000 encryptions refill it twice.
    for (let i = 0; i < 12_000; i += 1) {
      const sealed = encryptNationalId('11010519491231002X', secrets.idEncryptionKey, personKey);
      ivs.add(sealed.split('.')[1] ?? '');
      if (i % 997 === 0) expect(decryptNationalId(sealed, secrets.idEncryptionKey, personKey)).toBe('11010519491231002X');
    }
    expect(ivs.size).toBe(12_000);
  });
});
