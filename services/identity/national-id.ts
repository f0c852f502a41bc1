import { HubError } from '../platform';

/**
 * GB 11643-1999 citizen identification numbers (公民身份号码): 6-digit administrative region,
 * 8-digit birth date, 3-digit sequence, ISO 7064 MOD 11-2 check character.
 *
 * Legacy 15-digit numbers (6-digit region, YYMMDD, 3-digit sequence; issued before 1999 to people
 * born in the 1900s) are upgraded to 18 digits the way the standard prescribes: insert "19" before
 * the year and append the computed check character. One person thus gets one person key whichever
 * number an agency still holds.
 */
const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const checkCharacters = '10X98765432';

/**
 * First two digits of GB/T 2260 division codes: provinces, autonomous regions and municipalities,
 * and 71, 81, 82 (Taiwan, Hong Kong, Macao) as they appear in ID numbers.
 */
// prettier-ignore
export const divisionProvinceCodes: ReadonlySet<string> = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37', '41', '42',
  '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65', '71', '81', '82',
]);

/** The first two digits an ID number may start with: a division's, or 83 (residence permits of Taiwan residents). */
const provinceCodes: ReadonlySet<string> = new Set([...divisionProvinceCodes, '83']);

export type IdRejection = 'EMPTY' | 'LENGTH' | 'CHARACTERS' | 'REGION' | 'BIRTH_DATE' | 'CHECK_DIGIT';

const reasons: Record<IdRejection, string> = {
  EMPTY: 'no ID number given',
  LENGTH: 'an ID number has 18 characters (or 15 for a legacy number)',
  CHARACTERS: 'an ID number is digits, with X allowed only as the last of 18',
  REGION: 'the first two digits are not a province code',
  BIRTH_DATE: 'the birth date inside the number is not a real date between 1900 and the reference date',
  CHECK_DIGIT: 'the check character does not match (GB 11643 MOD 11-2)',
};

export type IdValidation =
  { ok: true; normalized: string; upgradedFromLegacy: boolean; birthDate: string } | { ok: false; rejection: IdRejection; reason: string };

export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(first17.charCodeAt(i) - 48) * (weights[i] ?? 0);
  return checkCharacters.charAt(sum % 11);
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = [31, (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= (daysInMonth[month - 1] ?? 0);
}

/** Full-width digits and Ｘ (common in spreadsheets typed with a Chinese IME) become ASCII; spaces go. */
function normalizeText(raw: string): string {
  return raw
    .replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48))
    .replace(/[\uFF38\uFF58x]/g, 'X')
    .replace(/[\s\u3000-]/g, '');
}

/**
 * Validates a national ID number. `today` (ISO date) bounds the birth date from above; it is an
 * argument so that validation stays deterministic.
 */
export function validateNationalId(raw: string, today: string): IdValidation {
  const fail = (rejection: IdRejection): IdValidation => ({ ok: false, rejection, reason: reasons[rejection] });
  const text = normalizeText(raw);
  if (text === '') return fail('EMPTY');
  if (text.length !== 18 && text.length !== 15) return fail('LENGTH');
  if (text.length === 15 ? !/^\d{15}$/.test(text) : !/^\d{17}[\dX]$/.test(text)) return fail('CHARACTERS');
  if (!provinceCodes.has(text.slice(0, 2))) return fail('REGION');

  const legacy = text.length === 15;
  const first17 = legacy ? `${text.slice(0, 6)}19${text.slice(6, 15)}` : text.slice(0, 17);
  const year = Number(first17.slice(6, 10));
  const month = Number(first17.slice(10, 12));
  const day = Number(first17.slice(12, 14));
  const birthDate = `${first17.slice(6, 10)}-${first17.slice(10, 12)}-${first17.slice(12, 14)}`;
  if (year < 1900 || !isRealDate(year, month, day) || birthDate > today) return fail('BIRTH_DATE');

  const expected = checkCharacter(first17);
  if (!legacy && text.charAt(17) !== expected) return fail('CHECK_DIGIT');
  return { ok: true, normalized: first17 + expected, upgradedFromLegacy: legacy, birthDate };
}

/** Like validateNationalId, but throws HubError('ID_INVALID') with the reason (never the number). */
export function normalizeNationalId(raw: string, today: string): string {
  const result = validateNationalId(raw, today);
  if (!result.ok) throw new HubError('ID_INVALID', result.reason, { detail: { rejection: result.rejection } });
  return result.normalized;
}
