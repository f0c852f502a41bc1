/**
 * Turns taken in call order: `take(task)` starts `task` once every task handed in before it has
 * settled, so tasks run one at a time in the order `take` was called (not the order their callers
 * resume). A task that fails does not stop the ones after it: its own caller gets the rejection.
 *
 * This is the hub's one ordering primitive. The intake's order guarantee is kept with it (see
 * connectors/intake/pipeline.ts `createIntake`); so are the producer's one transaction at a time and
 * the local stack's one Maven run at a time.
 */
export interface Turns {
  take<T>(task: () => Promise<T>): Promise<T>;
}

export function createTurns(): Turns {
  let last: Promise<unknown> = Promise.resolve();
  return {
    take(task) {
      const run = last.then(task);
      last = run.catch(() => undefined);
      return run;
    },
  };
}
