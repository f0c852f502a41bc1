import { logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../platform';

/**
 * Broker answers kafkajs retries on its own and which a healthy cluster gives in routine operation:
 * a coordinator still loading or moving after start-up, a partition leader being elected, a topic
 * just created, a transaction step while the previous transaction's markers are being written, the
 * group rebalancing, a member unknown to the coordinator (on leave, or after a restart). kafkajs logs
 * each answer at error level as it arrives; when its retries run out the caller gets the error and
 * the hub reports it there. Matched on the broker's message as kafkajs words it, or its type.
 */
const routine = new RegExp(
  [
    'coordinator is loading',
    'GROUP_LOAD_IN_PROGRESS',
    'COORDINATOR_LOAD_IN_PROGRESS',
    'not the correct coordinator',
    'NOT_COORDINATOR',
    'coordinator is not available',
    'COORDINATOR_NOT_AVAILABLE',
    'no leader for this topic-partition',
    'LEADER_NOT_AVAILABLE',
    'not the leader for that topic-partition',
    'NOT_LEADER',
    'does not host this topic-partition',
    'UNKNOWN_TOPIC_OR_PARTITION',
    'leader epoch in the request',
    'high watermark has not caught up',
    'preferred leader was not available',
    'Eligible topic partition leaders',
    'Leader election not needed',
    'not the correct controller',
    'fetch session',
    'unstable offsets',
    'concurrent operation on the same transaction',
    'CONCURRENT_TRANSACTIONS',
    'rebalanc',
    'not aware of this member',
    'UNKNOWN_MEMBER_ID',
    'REBALANCE_IN_PROGRESS',
  ].join('|'),
  'i',
);

/**
 * The other broker answers kafkajs retries (its protocol table marks them retriable): signs of
 * trouble worth a warning while retried, an error only once the caller gets it.
 * test/unit/kafka checks that this and `routine` cover every retriable answer kafkajs knows.
 */
const retriedAnswer = new RegExp(
  [
    'failed its CRC checksum',
    'request timed out',
    'replica is not available',
    'disconnected before a response',
    'fewer in-sync replicas',
    'Disk error',
    'no listener on the leader broker',
  ].join('|'),
  'i',
);

/** The level a kafkajs log entry is written at in the hub's log. */
export function hubLevelOf(entry: {
  level: KafkaLogLevel;
  message: string;
  error?: unknown;
  type?: unknown;
  retryCount?: unknown;
}): 'debug' | 'warn' | 'error' {
  const text = `${entry.message} ${typeof entry.error === 'string' ? entry.error : ''} ${typeof entry.type === 'string' ? entry.type : ''}`;
  if (entry.level > KafkaLogLevel.WARN) return 'debug';
  if (routine.test(text)) return 'debug';
  if (retriedAnswer.test(text)) return 'warn';
  // Bounded retries are a choice here (a request must not hang on a lost broker); the notice is expected.
  if (entry.message.startsWith('Limiting retries for the idempotent producer')) return 'debug';
  // A step kafkajs is about to try again (it says how often it tried): a warning until retries run
  // out, when the caller gets the error.
  if (entry.level === KafkaLogLevel.ERROR && typeof entry.retryCount === 'number') return 'warn';
  // A consumer kafkajs restarts after a retriable error; one it gives up on is reported by the hub
  // (the consumer's crash event).
  if (/^(Crash: |Restarting the consumer)/.test(entry.message)) return 'warn';
  return entry.level === KafkaLogLevel.ERROR ? 'error' : 'warn';
}

/** kafkajs's logCreator writing through the hub's pino logger, each entry at the level hubLevelOf gives it. */
export function kafkaLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  return () =>
    (entry: LogEntry): void => {
      const { message, ...rest } = entry.log;
      const fields = { kafka: entry.namespace, ...rest };
      const { error, type, retryCount } = rest as { error?: unknown; type?: unknown; retryCount?: unknown };
      logger[hubLevelOf({ level: entry.level, message, error, type, retryCount })](fields, message);
    };
}
