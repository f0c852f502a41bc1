import { HubError } from './errors';

/**
 * Turns taken in call order: `take(task)` starts `task` once every task handed in before it has
 * settled, so tasks run one at a time in the order `take` was called (not the order their callers
 * resume). A task that fails does not stop the ones after it: its own caller gets the rejection.
 *
 * The backlog may be bounded (`maxWaiting`): a `take` that would leave more than that many tasks
 * waiting behind the running one is refused at once, with an OVERLOADED HubError, and takes no turn.
 *
 * This is the hub's one ordering primitive. The intake's order guarantee is kept with it (see
 * connectors/intake/pipeline.ts `createIntake`); so are the producer's one transaction at a time and
 * the local stack's one Maven run at a time.
 */
export interface Turns {
  take<T>(task: () => Promise<T>): Promise<T>;
}

export interface TurnsOptions {
  /** Most tasks waiting for their turn (the running one not counted); unbounded by default. */
  readonly maxWaiting?: number;
  /** What waits, for the refusal's message: "batches for the hospitals intake". Default "tasks". */
  readonly waiting?: string;
}

export function createTurns(options: TurnsOptions = {}): Turns {
  const maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY;
  let last: Promise<unknown> = Promise.resolve();
  /** Tasks taken and not yet settled: the running one and those waiting behind it. */
  let unsettled = 0;
  const settled = (): void => {
    unsettled -= 1;
  };
  return {
    take(task) {
      // A new task waits behind every unsettled one but the running one, and is itself waiting.
      if (unsettled > maxWaiting) {
        return Promise.reject(
          new HubError('OVERLOADED', `too many ${options.waiting ?? 'tasks'} are waiting (at most ${maxWaiting}); try again later`, {
            detail: { maxWaiting },
          }),
        );
      }
      unsettled += 1;
      const run = last.then(task);
      last = run.then(settled, settled);
      return run;
    },
  };
}
