import type { OutboundBatch } from '../kafka';
import type { PersonState } from './person-value';
import type { OutboxField } from './state-store';

/**
 * What the rules service does with its state, per input partition number: the exactly-once
 * protocol's steps (state-store.ts documents the Redis layout that implements them). A batch is
 * begun, read, and committed as one write that fails when another writer changed the state since
 * it was begun; outbox entries are dropped once Kafka committed what they hold.
 */
export interface StateStore {
  partition(partition: number): PartitionState;
}

/** The start of a batch: this topic's last folded offset, the last outbox sequence number, the pending entries. */
export interface BatchStart {
  /** The last offset of the topic folded into the state (-1: none). */
  readonly applied: bigint;
  readonly seq: number;
  /** The partition number's outbox entries, of every topic, in the order they were derived. */
  readonly outbox: readonly OutboxField[];
}

/** A batch's write: its people, outputs and offset, committed whole or not at all. */
export interface PartitionWrite {
  readonly topic: string;
  readonly lastOffset: bigint;
  /** The sequence number of the outbox entry this write adds (the last one's plus one). */
  readonly seq: number;
  /** The changed people, encoded (encodePerson). */
  readonly persons: ReadonlyMap<string, Buffer>;
  /** The changed people's warning watch scores, by person key and policy id (core/warning-watch.ts). */
  readonly watch?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Encoded outputs to keep until their offset is committed; undefined in a rebuild, which publishes nothing. */
  readonly outputs?: readonly OutboundBatch[];
  /** Outbox fields whose offsets Kafka has committed, deleted in the same write. */
  readonly drop?: readonly string[];
}

export interface PartitionState {
  /** Starts a batch: from here, a commit fails if another writer changes the applied offsets (WATCH). */
  begin(topic: string): Promise<BatchStart>;
  /** Ends a begun batch that writes nothing (UNWATCH). */
  release(): Promise<void>;
  /** The outputs kept under some outbox entries, joined by topic, in the entries' order. */
  outboxOutputs(entries: readonly OutboxField[]): Promise<OutboundBatch[]>;
  /** The people, in the order asked (an unknown person has no facts). */
  loadPersons(personKeys: readonly string[]): Promise<PersonState[]>;
  /** Writes a begun batch; false when another writer changed the state since it began. */
  commit(write: PartitionWrite): Promise<boolean>;
  /** Deletes outbox entries whose outputs Kafka has committed. */
  dropOutbox(fields: readonly string[]): Promise<void>;
  /** Moves a topic's applied offset forward over transaction markers, never back. */
  keepThrough(topic: string, offset: bigint): Promise<void>;
}
