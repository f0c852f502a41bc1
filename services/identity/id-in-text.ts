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
  `(?<![0-9\\uFF10-\\uFF19])` +
    `(?:${digit}(?:${separator}${digit}){16}${separator}${last}|${digit}(?:${separator}${digit}){14})` +
    `(?![0-9\\uFF10-\\uFF19XxＸｘ])`,
  'g',
);

/** A run of 15 or more digits (ASCII or full-width): an ID number may be glued to a sequence number. */
const longRun = /[0-9\uFF10-\uFF19]{15,}[XxＸｘ]?/g;

const mask = (match: string): string => `${match.slice(0, 3)}${'*'.repeat(Math.max(match.length - 3, 0))}`;

/**
 * Each ID-shaped run in `text` (valid or not) replaced by a mask keeping its first three characters,
 * and so is any longer run of digits, which may hold one (身份证号 followed by a sequence number).
 */
export function maskIdShaped(text: string): string {
  return text.replace(idInText, mask).replace(longRun, mask);
}

const fold = (text: string): string =>
  text.replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48)).replace(/[Ｘｘx]/g, 'X');

/**
 * True when `text` holds a valid national ID number in any of the forms above, or as 18 characters
 * anywhere inside a longer run of digits. The check character, region and birth date must be right,
 * so an ordinary reference number matches about once in 200,000 windows of 18 digits.
 */
export function containsNationalId(text: string, today: string): boolean {
  for (const match of text.matchAll(idInText)) if (validateNationalId(match[0], today).ok) return true;
  for (const match of fold(text).matchAll(/\d{17,}X?/g)) {
    const run = match[0];
    for (let start = 0; start + 18 <= run.length; start += 1) {
      if (validateNationalId(run.slice(start, start + 18), today).ok) return true;
    }
  }
  return false;
}
