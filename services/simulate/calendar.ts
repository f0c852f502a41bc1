/**
 * Dates and times as agencies write them: ISO dates, and wall-clock times in Asia/Shanghai (a fixed
 * +08:00, no daylight saving). Instants are epoch milliseconds.
 */
const hour = 3_600_000;
export const dayMs = 24 * hour;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The instant of a Shanghai wall-clock time. */
export function shanghaiInstant(isoDate: string, hours = 0, minutes = 0, seconds = 0): number {
  return Date.parse(`${isoDate}T00:00:00Z`) - 8 * hour + ((hours * 60 + minutes) * 60 + seconds) * 1000;
}

/** 'YYYY-MM-DD HH:mm:ss' in Shanghai, as the national interfaces and agency exports write times. */
export function shanghaiDateTime(instant: number): string {
  const shifted = new Date(instant + 8 * hour);
  const time = `${pad2(shifted.getUTCHours())}:${pad2(shifted.getUTCMinutes())}:${pad2(shifted.getUTCSeconds())}`;
  return `${shifted.toISOString().slice(0, 10)} ${time}`;
}

export { shanghaiDate } from '../platform';

export function addDays(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function isoDate(year: number, month: number, day: number): string {
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

/** The later of two ISO dates (they compare as text). */
export function laterDate(a: string, b: string): string {
  return a > b ? a : b;
}

export function earlierDate(a: string, b: string): string {
  return a < b ? a : b;
}
