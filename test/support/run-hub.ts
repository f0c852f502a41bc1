import { Readable, Writable } from 'node:stream';
import { main } from '../../services/cli';

/** Runs `hub <args>` in-process with in-memory streams and the given environment. */
export async function runHub(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
  stdinText = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (chunks: Buffer[]): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        callback();
      },
    });
  const code = await main(args, { stdin: Readable.from([Buffer.from(stdinText)]), stdout: sink(out), stderr: sink(err), env });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
