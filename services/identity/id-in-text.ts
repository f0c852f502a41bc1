import { validateNationalId } from './national-id';

/**
 * National ID numbers inside free text, in the forms people type them: ASCII or full-width digits,
 * grouped by spaces, dashes or full-width spaces (3303 0219 4501 2583 03, 330302-19450125-8303),
 * an x or X last. The scrubbers of the hub's outputs match these, not only a bare run of digits.
 */
const digit = '[0-9\\uFF10-\\uFF19]';
const separator = '[\\s\\u3000\\-\\u2010-\\u2015\\uFF0D_]?';
const last = '[0-9\\uFF10-\\uFF19XxＸｘ]';
const idInText = new RegExp(
  `(?<![0-9\\uFF10-\\uFF19])(?:${digit}(?:${separator}${digit}){16}${separator}${last}|${digit}(?:${separator}${digit}){14})(?![0-9\\uFF10-\\uFF19XxＸｘ])`,
  'g',
);

/** Each ID-shaped run in `text` (valid or not) replaced by a mask keeping its first three characters. */
export function maskIdShaped(text: string): string {
  return text.replace(idInText, (match) => `${match.slice(0, 3)}${'*'.repeat(Math.max(match.length - 3, 0))}`);
}

/**
 * True when `text` holds a valid national ID number in any of the forms above (the check character,
 * region and birth date must be right, so an ordinary long reference number rarely matches).
 */
export function containsNationalId(text: string, today: string): boolean {
  for (const match of text.matchAll(idInText)) if (validateNationalId(match[0], today).ok) return true;
  return false;
}
