import { describe, expect, it } from 'vitest';
import { checkCharacter, validateNationalId } from '../../../services/identity';

const today = '2026-11-22';

describe('GB 11643 national ID validation', () => {
  it.each([
    ['11010519491231002X', '11010519491231002X', '1949-12-31'], // the standard's own example
    ['11010519491231002x', '11010519491231002X', '1949-12-31'], // lower-case x
    ['１１０１０５１９４９１２３１００２Ｘ', '11010519491231002X', '1949-12-31'], // full-width, as typed with an IME
    [' 3301 0620 0002 290010 ', '330106200002290010', '2000-02-29'], // spaces; a leap day
  ])('accepts %s as %s', (raw, normalized, birthDate) => {
    expect(validateNationalId(raw, today)).toEqual({ ok: true, normalized, upgradedFromLegacy: false, birthDate });
  });

  it('computes the MOD 11-2 check character', () => {
    expect(checkCharacter('11010519491231002')).toBe('X');
    expect(checkCharacter('33010620000229001')).toBe('0');
  });

  it('upgrades a legacy 15-digit number to the 18-digit number of the same person', () => {
    expect(validateNationalId('110105491231002', today)).toEqual({
      ok: true,
      normalized: '11010519491231002X',
      upgradedFromLegacy: true,
      birthDate: '1949-12-31',
    });
  });

  it.each([
    ['', 'EMPTY'],
    ['1101051949123100', 'LENGTH'],
    ['11010519491231002XX', 'LENGTH'],
    ['1101051949123X002X', 'CHARACTERS'],
    ['11010549123100X', 'CHARACTERS'],
    ['99010519491231002X', 'REGION'],
    ['00010519491231002X', 'REGION'],
    ['110105194902300020', 'BIRTH_DATE'], // 30 February (check character valid)
    ['110105190002290017', 'BIRTH_DATE'], // 1900 was not a leap year
    ['110105189912310015', 'BIRTH_DATE'], // before 1900
    ['11010520300101001X', 'BIRTH_DATE'], // after the reference date
    ['110105194912310021', 'CHECK_DIGIT'],
    ['110105194912310020', 'CHECK_DIGIT'],
  ])('rejects %j: %s', (raw, rejection) => {
    const result = validateNationalId(raw, today);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection).toBe(rejection);
      expect(result.reason).not.toContain(raw.trim() === '' ? '\u0000' : raw);
    }
  });
});
