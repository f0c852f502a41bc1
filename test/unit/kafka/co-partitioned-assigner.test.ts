import { AssignerProtocol, type Cluster } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { coPartitionedAssigner } from '../../../services/kafka/runtime';

/** A cluster stand-in that only answers partition metadata, which is all the assigner reads. */
function clusterWith(partitions: Record<string, number>): Cluster {
  return {
    findTopicPartitionMetadata: (topic: string) => Array.from({ length: partitions[topic] ?? 0 }, (_, partitionId) => ({ partitionId })),
  } as unknown as Cluster;
}

async function plan(memberIds: string[], topics: Record<string, number>): Promise<Map<string, Record<string, number[]>>> {
  const assigner = coPartitionedAssigner({ cluster: clusterWith(topics), groupId: 'g', logger: {} as never });
  const assignments = await assigner.assign({
    members: memberIds.map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) })),
    topics: Object.keys(topics),
  });
  return new Map(assignments.map((a) => [a.memberId, AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment ?? {}]));
}

describe('co-partitioned assignment', () => {
  const inbound = {
    'civil-affairs.status-changes': 6,
    'rural-revitalization.status-changes': 6,
    'hospitals.settlements': 6,
    'tax.contributions': 6,
  };

  it('gives partition p of every inbound topic to the same member, so one member owns each person', async () => {
    const assignment = await plan(['member-b', 'member-a'], inbound);
    expect(assignment.get('member-a')).toEqual(Object.fromEntries(Object.keys(inbound).map((t) => [t, [0, 2, 4]])));
    expect(assignment.get('member-b')).toEqual(Object.fromEntries(Object.keys(inbound).map((t) => [t, [1, 3, 5]])));
  });

  it('assigns every partition exactly once whatever the number of members', async () => {
    for (const members of [1, 2, 3, 5, 7]) {
      const assignment = await plan(
        Array.from({ length: members }, (_, i) => `m${i}`),
        inbound,
      );
      const owners = new Map<string, string[]>();
      for (const [member, topics] of assignment)
        for (const [topic, partitions] of Object.entries(topics))
          for (const p of partitions) owners.set(`${topic}/${p}`, [...(owners.get(`${topic}/${p}`) ?? []), member]);
      expect(owners.size).toBe(24);
      expect([...owners.values()].every((list) => list.length === 1)).toBe(true);
      const byPartition = new Map<number, Set<string>>();
      for (const [key, [member]] of owners) {
        const p = Number(key.split('/')[1]);
        byPartition.set(p, (byPartition.get(p) ?? new Set()).add(member ?? ''));
      }
      expect([...byPartition.values()].every((set) => set.size === 1)).toBe(true);
    }
  });
});
