/**
 * ISO calendar dates (`YYYY-MM-DD`, the region's local date) as plain strings. The engine keeps no
 * clock: it never builds a Date, and compares dates as strings, which orders them correctly.
 */

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The number written by `count` ASCII digits from `start`; -1 when one of them is not a digit. */
function digitsAt(value: string, start: number, count: number): number {
  let number = 0;
  for (let i = start; i < start + count; i += 1) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    number = number * 10 + digit;
  }
  return number;
}

/**
 * True for a well-formed `YYYY-MM-DD` date that exists in the calendar (no 2019-02-30). Read by
 * character codes, not a regular expression: every date of every recomputed year passes here.
 */
export function isRealDate(value: string): boolean {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  return year >= 1900 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** The first and last day of a month, as ISO dates. */
export function monthBounds(year: number, month: number): { readonly first: string; readonly last: string } {
  return { first: `${year}-${pad2(month)}-01`, last: `${year}-${pad2(month)}-${pad2(daysInMonth(year, month))}` };
}

/** True when a `[from, to)` interval (`to` null = open) contains the date. */
export function holdsOn(from: string, to: string | null, date: string): boolean {
  return from <= date && (to === null || date < to);
}

/** True when a `[from, to)` interval overlaps the inclusive range `[first, last]`. */
export function overlaps(from: string, to: string | null, first: string, last: string): boolean {
  return from <= last && (to === null || to > first);
}
