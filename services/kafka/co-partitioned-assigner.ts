import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Assigns partition p of every subscribed topic to the same group member. The inbound topics are
 * keyed by person key with equal partition counts, so one person's facts from all four agencies
 * meet in one member, which then owns that person alone (no lock needed). Members are sorted by
 * id and partition p goes to member p mod n, so every member computes the same plan.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'HubCoPartitionedAssigner',
  version: 0,
  assign({ members, topics }) {
    const memberIds = members.map((member) => member.memberId).sort();
    const plan = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const memberId = memberIds[partitionId % memberIds.length];
        if (memberId === undefined) continue;
        const assignment = plan.get(memberId) ?? {};
        (assignment[topic] ??= []).push(partitionId);
        plan.set(memberId, assignment);
      }
    }
    return Promise.resolve(
      [...plan.entries()].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: 'HubCoPartitionedAssigner',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
