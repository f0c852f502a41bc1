import type { Redis } from 'ioredis';
import type { SeenFacts } from './pipeline';

/**
 * Published facts in Redis: `hub:intake:fact:<eventId>` -> content hash. Kept a little over a
 * benefit year plus the time agencies take to correct records; a fact re-sent after that is
 * published again and recognised downstream by its event id.
 */
export function redisSeenFacts(redis: Redis, ttlSeconds = 800 * 86_400): SeenFacts {
  const key = (eventId: string): string => `hub:intake:fact:${eventId}`;
  return {
    async lookup(eventIds) {
      if (eventIds.length === 0) return [];
      const values = await redis.mget(...eventIds.map(key));
      return values.map((value) => value ?? undefined);
    },
    async remember(entries) {
      if (entries.length === 0) return;
      const pipeline = redis.pipeline();
      for (const entry of entries) pipeline.set(key(entry.eventId), entry.contentHash, 'EX', ttlSeconds, 'NX');
      await pipeline.exec();
    },
  };
}
