import type { Redis } from 'ioredis';
import type { SeenFacts } from './pipeline';

/**
 * Sets each KEYS[i] to ARGV[i + 1] unless it exists (first content wins), expiring after ARGV[1]
 * seconds. One command for a whole batch instead of one pipelined SET per fact: a batch of 2,000
 * facts was 2,000 client-side command objects and promises, a noticeable share of an import's CPU.
 * (The keys of one batch live on the one Redis the hub uses; a Redis Cluster would need them in one
 * hash slot.)
 */
const rememberScript = `
local ttl = ARGV[1]
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 1], 'EX', ttl, 'NX')
end
return #KEYS
`;

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
  const prefix = `hub:intake:fact:${topic}:`;
  return {
    async lookup(eventIds) {
      if (eventIds.length === 0) return [];
      const values = await redis.mget(eventIds.map((eventId) => prefix + eventId));
      return values.map((value) => value ?? undefined);
    },
    async remember(entries) {
      if (entries.length === 0) return;
      const args: (string | number)[] = new Array<string | number>(entries.length * 2 + 2);
      args[0] = entries.length;
      args[entries.length + 1] = ttlSeconds;
      entries.forEach((entry, i) => {
        args[i + 1] = prefix + entry.eventId;
        args[entries.length + 2 + i] = entry.contentHash;
      });
      await redis.eval(rememberScript, ...(args as [number, ...(string | number)[]]));
    },
  };
}
