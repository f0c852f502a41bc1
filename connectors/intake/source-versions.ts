import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Which person each version of an agency's source record named. Records are keyed by person, so a
 * version 2 that corrects the ID number goes to another person's partition than version 1, and the
 * rules service folding the first person never sees it: the connector, which sees both, tells the
 * first person's partition that the record is no longer theirs (a WITHDRAWN record, published in
 * the same Kafka transaction as version 2).
 */
export interface SourceVersionClaim {
  readonly recordId: string;
  readonly version: number;
  readonly personKey: string;
  readonly idCipher: string;
}

export type SourceVersionAnswer =
  /** The newest version (or a resend of it): publish it, and withdraw it from every other person an older version named. */
  | { readonly status: 'newest'; readonly others: readonly { readonly personKey: string; readonly idCipher: string }[] }
  /** An older version for the person the newest names: harmless, the rules service keeps the newest. */
  | { readonly status: 'older' }
  /** An older version for another person: publishing it would give that person the record back. */
  | { readonly status: 'stale'; readonly newest: number }
  /** The newest version again, for another person: one version names one person. */
  | { readonly status: 'conflict' };

export interface SourceVersions {
  /**
   * Records each claim (in order: a batch may hold several versions of a record) and answers how to
   * publish it. Called before the batch is published: a batch that then fails is sent again, and the
   * same claim answers the same (a resend of the newest version withdraws again).
   */
  claim(claims: readonly SourceVersionClaim[]): Promise<SourceVersionAnswer[]>;
}

/**
 * KEYS: one hash per claim. ARGV[1]: TTL in seconds; then per claim version, person key, cipher.
 * A record's hash holds `#v` (newest version), `#p` (its person key) and, per person key a version
 * ever named, that person's sealed ID number (`k:<personKey>`), so that the withdrawal carries it.
 * Answers per claim: {code, others…} with code n (newest), o (older), s (stale, then the newest
 * version), c (conflict).
 */
const claimScript = `
local ttl = ARGV[1]
local answers = {}
for i, key in ipairs(KEYS) do
  local version = tonumber(ARGV[3 * i - 1])
  local person = ARGV[3 * i]
  local cipher = ARGV[3 * i + 1]
  local newest = tonumber(redis.call('HGET', key, '#v') or '0')
  local holder = redis.call('HGET', key, '#p')
  local answer
  if version > newest or (version == newest and person == holder) then
    redis.call('HSET', key, '#v', version, '#p', person, 'k:' .. person, cipher)
    answer = {'n'}
    local fields = redis.call('HGETALL', key)
    for j = 1, #fields, 2 do
      local field = fields[j]
      if string.sub(field, 1, 2) == 'k:' and string.sub(field, 3) ~= person then
        table.insert(answer, string.sub(field, 3))
        table.insert(answer, fields[j + 1])
      end
    end
  elseif version == newest then
    answer = {'c'}
  elseif person == holder then
    answer = {'o'}
  else
    answer = {'s', tostring(newest)}
  end
  redis.call('EXPIRE', key, ttl)
  answers[i] = answer
end
return answers
`;

/**
 * The index in Redis: `hub:intake:source:<topic>:<hash>`, the hash of the agency's record id (which
 * may hold anything the agency chose, an ID number among it) and never the id itself. Kept as long
 * as the facts already published (seen-facts.ts).
 */
export function redisSourceVersions(redis: Redis, topic: string, agencyId: string, ttlSeconds = 800 * 86_400): SourceVersions {
  const prefix = `hub:intake:source:${topic}:`;
  return {
    async claim(claims) {
      if (claims.length === 0) return [];
      const keys = claims.map((c) => prefix + hash('sha256', `${agencyId}\u0000${c.recordId}`, 'hex'));
      const args: (string | number)[] = [ttlSeconds];
      for (const c of claims) args.push(c.version, c.personKey, c.idCipher);
      const raw = (await redis.eval(claimScript, keys.length, ...keys, ...args)) as string[][];
      return raw.map((answer): SourceVersionAnswer => {
        switch (answer[0]) {
          case 'n': {
            const others: { personKey: string; idCipher: string }[] = [];
            for (let j = 1; j + 1 < answer.length; j += 2) others.push({ personKey: answer[j] ?? '', idCipher: answer[j + 1] ?? '' });
            return { status: 'newest', others };
          }
          case 'o':
            return { status: 'older' };
          case 's':
            return { status: 'stale', newest: Number(answer[1]) };
          default:
            return { status: 'conflict' };
        }
      });
    },
  };
}
