import { ensureStack } from '../../services/stack';

/**
 * Vitest globalSetup of the integration project: the local stack must be up before any test runs.
 *
 * - On a fresh clone this starts everything, including the first-run Maven downloads (Kafka,
 *   Apicurio Registry) into the machine's cache (`HUB_CACHE_DIR`, default ~/.cache/medsec-hub).
 * - Where HUB_KAFKA_BROKERS, HUB_SCHEMA_REGISTRY_URL, HUB_REDIS_URL or HUB_POSTGRES_URL point at
 *   other services, those are only checked, never started.
 * - It returns no teardown on purpose: a stack that was already running must keep running for
 *   whoever started it, and one started here is left running too, so the next `npm test` finds it
 *   ready in about a second instead of paying a JVM start. `npx hub stack down` stops it.
 *
 * HUB_TESTCONTAINERS=1 (starting these services in Docker containers instead) is not built yet;
 * it fails loudly rather than silently testing against something else.
 */
export default async function setup(): Promise<void> {
  if (process.env.HUB_TESTCONTAINERS === '1') {
    throw new Error('HUB_TESTCONTAINERS=1: the testcontainers path is not built; unset it to use the local stack (npx hub stack up)');
  }
  await ensureStack({ progress: (line) => { process.stderr.write(`integration setup: ${line}\n`); } });
}
