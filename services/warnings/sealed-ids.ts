import type { Redis } from 'ioredis';

/** The id directory's hash in Redis: person key → sealed ID number (encryptNationalId). */
export const idDirectoryKey = (namespace: string): string => `${namespace}:ids`;

/** Sealed ID numbers by person key; absent keys are missing from the map. */
export async function lookupSealedIds(redis: Redis, namespace: string, personKeys: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (personKeys.length === 0) return found;
  const values = await redis.hmget(idDirectoryKey(namespace), ...personKeys);
  personKeys.forEach((key, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) found.set(key, value);
  });
  return found;
}
