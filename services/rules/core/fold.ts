import type { PersonState } from '../person-value';
import { derivePerson, type Cause, type PolicyResolver, type RulesOutput } from './derive';
import { rulesDeadLetter, type RulesDeadLetter } from './dead-letters';
import { toFact, type DecodedFact, type InboundPosition } from './facts';
import { supersedes, type StoredContribution } from './person-facts';
import { problemValues, type SlotField } from './slot-values';
import { sha256Hex } from './sha256';

/**
 * The rules fold, pure: a batch's decoded facts and its people's states in, the outputs owed and
 * the people's new states out. Reading and writing the state, decoding and encoding records and
 * Kafka's transactions are the caller's (rules-service.ts); the clock is a number handed in.
 */

/** An output of a batch before it is encoded. */
export type FoldOutput = RulesOutput | RulesDeadLetter;

/** An inbound record of the batch: decoded, or why it could not be. */
export type BatchItem =
  { readonly inbound: InboundPosition; readonly fact: DecodedFact } | { readonly inbound: InboundPosition; readonly failure: string };

/** One decoded record of a person. */
export interface PersonFact {
  readonly inbound: InboundPosition;
  readonly fact: DecodedFact;
}

export interface FoldContext {
  readonly policies: PolicyResolver;
  /** The time of the fold (epoch ms): recordedAt of what it derives. */
  readonly now: number;
}

/** A person-year the hub cannot compute, reported in the dead letters (once, not at each new fact). */
export interface ReportedProblem {
  readonly personKey: string;
  readonly policyId: string;
  readonly code: string;
  readonly message: string;
}

export interface GroupedBatch {
  /** Records that could not be decoded (or are of no inbound topic), as dead letters, in offset order. */
  readonly letters: RulesDeadLetter[];
  /** Each person's facts of the batch, in offset order; people in order of first appearance. */
  readonly people: Map<string, PersonFact[]>;
}

export function groupBatch(items: readonly BatchItem[], now: number): GroupedBatch {
  const letters: RulesDeadLetter[] = [];
  const people = new Map<string, PersonFact[]>();
  for (const item of items) {
    if ('failure' in item) {
      letters.push(rulesDeadLetter({ code: 'DESERIALIZE_FAILED', message: item.failure, record: item.inbound }, now));
      continue;
    }
    const list = people.get(item.fact.record.personKey);
    if (list === undefined) people.set(item.fact.record.personKey, [item]);
    else list.push(item);
  }
  return { letters, people };
}

export interface FoldedPerson {
  readonly outputs: FoldOutput[];
  /** The person's new state; undefined when the batch changed none of the person's facts. */
  readonly state: PersonState | undefined;
  readonly reported: ReportedProblem[];
}

const sameSetlIdMessage = (key: string, current: string): string =>
  `${key} is already the ${current} folded for this person; this other record under the same setl_id is left out`;

/** Folds one person's facts of a batch into the person's state (which it takes over) and derives what changed. */
export function foldPerson(personKey: string, state: PersonState, facts: readonly PersonFact[], context: FoldContext): FoldedPerson {
  const outputs: FoldOutput[] = [];
  const causes: Cause[] = [];
  const withdrawn: StoredContribution[] = [];
  for (const { inbound, fact: decoded } of facts) {
    const [field, fact, description] = toFact(decoded);
    const current = state.facts.get(field);
    if (!supersedes(fact, current)) {
      // A settlement id is one record: another record under it (a reversal and a settlement
      // sharing a setl_id) would vanish unseen. A resend of the same record is no news.
      if (fact.kind === 'settlement' && current !== undefined && current.eventId !== fact.eventId) {
        const what = current.kind === 'settlement' && current.reversesKey !== null ? 'reversal' : 'settlement';
        const message = sameSetlIdMessage(fact.key, what);
        outputs.push(rulesDeadLetter({ code: 'INPUT_INVALID', message, record: inbound }, context.now));
      }
      continue;
    }
    if (fact.kind === 'withdrawal' && current?.kind === 'contribution') withdrawn.push(current);
    state.facts.set(field, fact);
    causes.push({ eventId: decoded.record.eventId, occurredAt: decoded.record.occurredAt, description });
  }
  if (causes.length === 0) return { outputs, state: undefined, reported: [] };
  const derivation = derivePerson({
    personKey,
    facts: [...state.facts.values()],
    emitted: state.emitted,
    causes,
    policies: context.policies,
    now: context.now,
    withdrawn,
  });
  outputs.push(...derivation.outputs);
  const reported: ReportedProblem[] = [];
  // A person-year the hub cannot compute is reported once, not again at each new fact about it.
  // A fact left out is reported once whatever the words (they may name another fact that changes).
  for (const problem of derivation.problems) {
    const identity =
      problem.fact === undefined
        ? `${problem.policyId}\u0000${problem.code}\u0000${problem.message}`
        : `fact\u0000${problem.code}\u0000${problem.fact.eventId}`;
    const slot: SlotField = `x:${sha256Hex(identity).slice(0, 24)}`;
    if (derivation.emitted.has(slot)) continue;
    reported.push({ personKey, policyId: problem.policyId, code: problem.code, message: problem.message });
    const letter = rulesDeadLetter(
      { code: problem.code, message: problem.message, personKey, ...(problem.fact === undefined ? {} : { fact: problem.fact }) },
      context.now,
    );
    outputs.push(letter);
    derivation.emitted.set(slot, { eventId: letter.record.eventId, values: problemValues });
  }
  return { outputs, state: { facts: state.facts, emitted: derivation.emitted }, reported };
}

export interface FoldedBatch {
  readonly outputs: FoldOutput[];
  /** The new state of each person whose facts changed, in order of first appearance. */
  readonly persons: Map<string, PersonState>;
  readonly reported: ReportedProblem[];
}

/**
 * A whole batch at once: `states` holds the current state of every person the batch names (a person
 * missing from it is skipped, as one whose state could not be loaded). The states are taken over.
 */
export function foldBatch(items: readonly BatchItem[], states: ReadonlyMap<string, PersonState>, context: FoldContext): FoldedBatch {
  const { letters, people } = groupBatch(items, context.now);
  const outputs: FoldOutput[] = [...letters];
  const persons = new Map<string, PersonState>();
  const reported: ReportedProblem[] = [];
  for (const [personKey, facts] of people) {
    const state = states.get(personKey);
    if (state === undefined) continue;
    const folded = foldPerson(personKey, state, facts, context);
    outputs.push(...folded.outputs);
    reported.push(...folded.reported);
    if (folded.state !== undefined) persons.set(personKey, folded.state);
  }
  return { outputs, persons, reported };
}
