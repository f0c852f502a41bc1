/**
 * The hub's calendar is Asia/Shanghai: a fixed +08:00 with no daylight saving, so a date is the UTC
 * date of the instant shifted by eight hours. Instants are epoch milliseconds; dates ISO strings.
 */
const shanghaiOffsetMs = 8 * 3_600_000;

/** The ISO date (YYYY-MM-DD) of an instant in Asia/Shanghai. */
export function shanghaiDate(instant: number): string {
  return new Date(instant + shanghaiOffsetMs).toISOString().slice(0, 10);
}
