/**
 * Reads again, for up to `timeoutMs`, while fewer than `atLeast` records are visible. The intake
 * publishes in Kafka transactions: a read-committed reader sees a transaction's records once the
 * broker has written its commit markers, which it does just after the commit returns (seconds later
 * on a loaded machine). More records than expected are returned at once, for the caller to refuse.
 */
export async function readAtLeast<T>(read: () => Promise<T[]>, atLeast: number, timeoutMs = 15_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await read();
    if (records.length >= atLeast || Date.now() >= deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
