import type { OutboundBatch } from '../../services/kafka';
import { decodePerson, type PartitionState, type StateStore } from '../../services/rules';
import { joinByTopic, outboxField, parseOutboxField } from '../../services/rules/state-store';

/**
 * The rules state in memory, for unit tests of the service around it: one partition number's
 * applied offsets, outbox and people, with WATCH's guarantee (a commit fails when the state changed
 * since its batch began) and a log of the calls made.
 */
export class MemoryState implements StateStore {
  readonly applied = new Map<string, bigint>();
  seq = 0;
  readonly outbox = new Map<string, OutboundBatch[]>();
  readonly persons = new Map<string, Buffer>();
  readonly calls: string[] = [];
  /** Runs inside the next commit, before its check: another writer changing the state. */
  interfere: (() => void) | undefined;
  private version = 0;
  private watched: number | undefined;

  /** Another writer's change: a commit of a batch begun before it fails. */
  touch(): void {
    this.version += 1;
  }

  partition(partition: number): PartitionState {
    const log = (call: string): void => {
      this.calls.push(`p${partition} ${call}`);
    };
    return {
      begin: (topic) => {
        log(`begin ${topic}`);
        this.watched = this.version;
        const outbox = [...this.outbox.keys()].map(parseOutboxField).sort((a, b) => a.seq - b.seq);
        return Promise.resolve({ applied: this.applied.get(topic) ?? -1n, seq: this.seq, outbox });
      },
      release: () => {
        log('release');
        this.watched = undefined;
        return Promise.resolve();
      },
      outboxOutputs: (entries) => {
        log(`outboxOutputs ${entries.map((e) => e.field).join(',')}`);
        return Promise.resolve(joinByTopic(entries.flatMap((e) => this.outbox.get(e.field) ?? [])));
      },
      loadPersons: (personKeys) => {
        log(`loadPersons ${personKeys.join(',')}`);
        return Promise.resolve(personKeys.map((key) => decodePerson(this.persons.get(key) ?? null)));
      },
      commit: (write) => {
        log(`commit ${write.topic}@${write.lastOffset} seq ${write.seq} persons ${[...write.persons.keys()].join(',')}`);
        const interfere = this.interfere;
        this.interfere = undefined;
        interfere?.();
        const watched = this.watched;
        this.watched = undefined;
        if (watched !== this.version) return Promise.resolve(false);
        for (const [key, value] of write.persons) this.persons.set(key, value);
        if (write.outputs !== undefined && write.outputs.length > 0) {
          this.outbox.set(outboxField(write.seq, write.topic, write.lastOffset), [...write.outputs]);
          this.seq = write.seq;
        }
        for (const field of write.drop ?? []) this.outbox.delete(field);
        this.applied.set(write.topic, write.lastOffset);
        this.version += 1;
        return Promise.resolve(true);
      },
      dropOutbox: (fields) => {
        log(`dropOutbox ${fields.join(',')}`);
        for (const field of fields) this.outbox.delete(field);
        return Promise.resolve();
      },
      keepThrough: (topic, offset) => {
        log(`keepThrough ${topic}@${offset}`);
        if (offset > (this.applied.get(topic) ?? -1n)) this.applied.set(topic, offset);
        return Promise.resolve();
      },
    };
  }
}
