import { ensureStack } from '../../services/stack/runtime';
import { startContainerStack } from '../support/testcontainers-stack';

/**
 * Vitest globalSetup of the integration project: the services must be up before any test runs.
 *
 * By default, the local stack:
 * - On a fresh clone this starts everything, including the first-run Maven downloads (Kafka,
 *   Apicurio Registry) into the machine's cache (`HUB_CACHE_DIR`, default ~/.cache/medsec-hub).
 * - Where HUB_KAFKA_BROKERS, HUB_SCHEMA_REGISTRY_URL, HUB_REDIS_URL or HUB_POSTGRES_URL point at
 *   other services, those are only checked, never started.
 * - It returns no teardown on purpose: a stack that was already running must keep running for
 *   whoever started it, and one started here is left running too, so the next `npm test` finds it
 *   ready in about a second instead of paying a JVM start. `npx hub stack down` stops it.
 *
 * With HUB_TESTCONTAINERS=1, where a Docker engine exists: Kafka, Schema Registry, Redis and
 * PostgreSQL in containers (test/support/testcontainers-stack.ts), their addresses and generated
 * secrets put in process.env, which the test workers (started after this) inherit and which wins
 * over .hub/local.env. The containers are removed when the run ends. Without a Docker engine it
 * stops with an error that says so, rather than silently testing against something else.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const progress = (line: string): void => {
    process.stderr.write(`integration setup: ${line}\n`);
  };
  if (process.env.HUB_TESTCONTAINERS === '1') {
    const stack = await startContainerStack(progress);
    Object.assign(process.env, stack.env);
    return () => stack.stop();
  }
  await ensureStack({ progress });
  return undefined;
}
