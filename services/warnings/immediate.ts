import { topics, topicSpec } from '../../schemas';
import type { HubConsumer } from '../kafka';
import { shanghaiDate, type Logger } from '../platform';
import { createTopicCodec } from '../registry';
import { createRegistryClient } from '../registry/runtime';
import { periodOf } from './periods';
import { personYearsFor } from './person-years';
import type { WarningsRuntime } from './runtime';
import { scheduledPolicies } from './scheduler';
import { runKeys } from './warning-run';

/**
 * The immediate alert (off by default; a policy's `warning.immediate: true` switches it on): a person
 * whose self-pay to date crosses the threshold mid-period is warned at once instead of up to three
 * months later. It follows the rules service's `benefits.self-pay` records (one whenever a
 * person-year's totals change); a record over the threshold on the policy's basis, in a period not
 * yet closed by its run, has that person's verdict computed and published for the open period.
 * Always-reported categories wait for the period's run: their warning is not urgent by amount.
 */
export async function startImmediateAlerts(runtime: WarningsRuntime, logger: Logger): Promise<HubConsumer | undefined> {
  // The regions this instance schedules (HUB_WARNINGS_REGIONS) whose policy switches the alert on.
  const regions = new Set(scheduledPolicies(runtime).filter((id) => runtime.policy(id).warning.immediate));
  if (regions.size === 0) return undefined;
  const topic = runtime.kafka.topicName(topics.selfPay.name);
  await runtime.kafka.ensureTopics([topicSpec('selfPay', runtime.kafka.settings.topicPrefix)]);
  const partitions = await runtime.statePartitions();
  const codec = createTopicCodec(createRegistryClient(runtime.config.schemaRegistryUrl), 'selfPay', topic);
  const keys = runKeys(runtime.namespace);
  const consumer = runtime.kafka.createConsumer({
    groupId: `${runtime.config.topicPrefix}hub-warnings-immediate`,
    topics: [topic],
    fromBeginning: true,
    handleBatch: async (records) => {
      // The latest record per person-year of the batch is the one that counts.
      const latest = new Map<string, Awaited<ReturnType<typeof codec.decode>>>();
      for (const record of records) {
        if (record.value === null) continue;
        const value = await codec.decode(record.value);
        if (regions.has(value.policyId)) latest.set(`${value.policyId}/${value.personKey}`, value);
      }
      const due = new Map<string, { policyId: string; period: string; personKeys: string[] }>();
      for (const value of latest.values()) {
        const policy = runtime.policy(value.policyId);
        const selfPay = policy.warning.basis === 'TOTAL' ? value.selfPayTotalFen : value.selfPayInScopeFen;
        if (selfPay <= policy.warning.thresholdFen) continue;
        const period = periodOf(policy.warning.cadence, shanghaiDate(value.lastSettledAt ?? value.occurredAt));
        if ((await runtime.redis.exists(keys.done(policy.id, period))) === 1) continue;
        const entry = due.get(`${policy.id}/${period}`) ?? { policyId: policy.id, period, personKeys: [] };
        entry.personKeys.push(value.personKey);
        due.set(`${policy.id}/${period}`, entry);
      }
      for (const { policyId, period, personKeys } of due.values()) {
        const policy = runtime.policy(policyId);
        const persons = await personYearsFor(runtime.redis, runtime.config.topicPrefix, policy, runtime.resolver, personKeys, partitions);
        const summary = await runtime.warnNow(policyId, period, persons);
        if (summary.published > 0) logger.info({ policyId, period, published: summary.published }, 'immediate warnings');
      }
    },
  });
  await consumer.start();
  return consumer;
}
