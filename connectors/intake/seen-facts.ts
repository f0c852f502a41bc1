import type { Redis } from 'ioredis';
import type { SeenFacts } from './pipeline';

/**
 * Published facts in Redis: `hub:intake:fact:<topic>:<eventId>` -> content hash. Kept a little over a
 * benefit year plus the time agencies take to correct records; a fact re-sent after that is
 * published again and recognised downstream by its event id.
 *
 * The key names the topic (prefix included) because event ids derive from the agency's record id
 * alone: without it, two hubs or test runs sharing one Redis under different HUB_TOPIC_PREFIX would
 * take each other's facts for duplicates and never publish them.
 */
export function redisSeenFacts(redis: Redis, topic: string, ttlSeconds = 800 * 86_400): SeenFacts {
  const key = (eventId: string): string => `hub:intake:fact:${topic}:${eventId}`;
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
