/**
 * ISO calendar dates (`YYYY-MM-DD`, the region's local date) as plain strings. The engine keeps no
 * clock: it never builds a Date, and compares dates as strings, which orders them correctly.
 */

const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True for a well-formed date that exists in the calendar (no 2019-02-30). */
export function isRealDate(value: string): boolean {
  const match = isoDate.exec(value);
  if (match === null) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
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
