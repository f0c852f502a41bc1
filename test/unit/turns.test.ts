import { describe, expect, it } from 'vitest';
import { createTurns, isHubError } from '../../services/platform';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createTurns', () => {
  it('starts each task only after every earlier one has settled, in call order, whatever order they finish in', async () => {
    const turns = createTurns();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, index) =>
      turns.take(async () => {
        log.push(`start ${index}`);
        await gate.promise;
        log.push(`end ${index}`);
        return index;
      }),
    );
    await Promise.resolve();
    expect(log).toEqual(['start 0']);
    gates[2]!.resolve();
    gates[1]!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start 0']);
    gates[0]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('hands a failed task its rejection and still runs the tasks after it', async () => {
    const turns = createTurns();
    const failed = turns.take(() => Promise.reject(new Error('refused')));
    const next = turns.take(() => Promise.resolve('ran'));
    await expect(failed).rejects.toThrow('refused');
    await expect(next).resolves.toBe('ran');
  });

  it('refuses at once, with OVERLOADED, a task that would leave more than maxWaiting waiting, and takes no turn for it', async () => {
    const turns = createTurns({ maxWaiting: 2, waiting: 'batches' });
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const task = (index: number) => async () => {
      log.push(`start ${index}`);
      await gates[index]!.promise;
      return index;
    };
    const running = turns.take(task(0));
    const waiting = [turns.take(task(1)), turns.take(task(2))];
    const refused = await turns.take(task(3)).catch((error: unknown) => error);
    expect(isHubError(refused, 'OVERLOADED')).toBe(true);
    expect((refused as Error).message).toBe('too many batches are waiting (at most 2); try again later');
    expect(log).toEqual(['start 0']);

    // Once the running task settles, one place is free again: the next take waits its turn.
    gates[0]!.resolve();
    expect(await running).toBe(0);
    const later = turns.take(task(3));
    gates[1]!.resolve();
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all([...waiting, later])).toEqual([1, 2, 3]);
    expect(log).toEqual(['start 0', 'start 1', 'start 2', 'start 3']);
  });

  it('counts a failed task as settled, and runs a task at once on an idle queue even with no room to wait', async () => {
    const turns = createTurns({ maxWaiting: 0 });
    const gate = deferred();
    const first = turns.take(() => gate.promise.then(() => Promise.reject(new Error('refused'))));
    await expect(turns.take(() => Promise.resolve('second'))).rejects.toMatchObject({ code: 'OVERLOADED' });
    gate.resolve();
    await expect(first).rejects.toThrow('refused');
    await expect(turns.take(() => Promise.resolve('third'))).resolves.toBe('third');
  });
});
