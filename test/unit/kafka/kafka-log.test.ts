import { createRequire } from 'node:module';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { hubLevelOf, kafkaLogCreator } from '../../../services/kafka/kafka-log';
import { recordingLogger } from './fakes';

describe("kafkajs's log lines in the hub's log", () => {
  it('writes the retriable answers of a healthy start-up at debug (the error lines the demo printed)', () => {
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response InitProducerId(key: 22, version: 1)',
        error: "The coordinator is loading and hence can't process requests for this group",
      }),
    ).toBe('debug');
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response GroupCoordinator(key: 10, version: 2)',
        error: 'The group coordinator is not available',
      }),
    ).toBe('debug');
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response FindCoordinator(key: 10, version: 2)',
        error: 'This is not the correct coordinator for this group',
      }),
    ).toBe('debug');
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response AddOffsetsToTxn(key: 25, version: 1)',
        error: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
      }),
    ).toBe('debug');
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response JoinGroup(key: 11, version: 5)',
        error: 'The group is rebalancing, so a rejoin is needed',
      }),
    ).toBe('debug');
    expect(hubLevelOf({ level: logLevel.ERROR, message: 'The coordinator is not aware of this member, re-joining the group' })).toBe(
      'debug',
    );
  });

  it('writes every broker answer kafkajs retries below error level', () => {
    // kafkajs's own table of broker errors; only its retriable ones are retried.
    const require = createRequire(import.meta.url);
    const { errorCodes } = require('kafkajs/src/protocol/error.js') as {
      errorCodes: { type: string; message: string; retriable: boolean }[];
    };
    const retriable = errorCodes.filter((code) => code.retriable);
    expect(retriable.length).toBeGreaterThan(20);
    for (const code of retriable) {
      expect(
        hubLevelOf({ level: logLevel.ERROR, message: 'Response Produce(key: 0, version: 7)', error: code.message }),
        code.type,
      ).not.toBe('error');
    }
  });

  it('keeps a refusal kafkajs does not retry at error', () => {
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response Produce(key: 0, version: 7)',
        error: 'The request included a message larger than the max message size the server will accept',
      }),
    ).toBe('error');
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message: 'Response SaslAuthenticate(key: 36, version: 1)',
        error: 'Request is not valid given the current SASL state',
      }),
    ).toBe('error');
  });

  it('writes a step kafkajs is about to retry (it counts the attempts) and a consumer restart as warnings', () => {
    expect(
      hubLevelOf({
        level: logLevel.ERROR,
        message:
          'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
        retryCount: 2,
      }),
    ).toBe('warn');
    expect(hubLevelOf({ level: logLevel.ERROR, message: 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error' })).toBe('warn');
    expect(hubLevelOf({ level: logLevel.ERROR, message: 'Restarting the consumer in 200ms' })).toBe('warn');
  });

  it("keeps kafkajs's warnings as warnings, except the notice about the retries the hub bounds on purpose", () => {
    expect(hubLevelOf({ level: logLevel.WARN, message: 'KafkaJS v2.0.0 switched default partitioner.' })).toBe('warn');
    expect(hubLevelOf({ level: logLevel.WARN, message: 'Limiting retries for the idempotent producer to Number.MAX_SAFE_INTEGER' })).toBe(
      'debug',
    );
    expect(hubLevelOf({ level: logLevel.INFO, message: 'Starting' })).toBe('debug');
  });

  it('hands the entry to pino with its namespace and the level chosen', () => {
    const { logger, lines } = recordingLogger();
    const log = kafkaLogCreator(logger)();
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 't', message: 'Response GroupCoordinator(key: 10, version: 2)', error: 'The group coordinator is not available' },
    });
    log({
      namespace: 'Producer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 't', message: 'Response Produce(key: 0, version: 7)', error: 'Broker: Topic authorization failed' },
    });
    expect(lines).toEqual([
      { level: 'debug', msg: 'Response GroupCoordinator(key: 10, version: 2)' },
      { level: 'error', msg: 'Response Produce(key: 0, version: 7)' },
    ]);
  });
});
