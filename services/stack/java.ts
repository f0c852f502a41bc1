import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from '../platform';

export interface Java {
  readonly bin: string;
  readonly major: number;
}

function javaMajor(bin: string): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    execFile(bin, ['-version'], { timeout: 15_000 }, (error, _stdout, stderr) => {
      if (error !== null) {
        resolvePromise(undefined);
        return;
      }
      // `openjdk version "17.0.15"`, `"25.0.3"`, or the old `"1.8.0_392"`.
      const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr);
      const first = Number(match?.[1]);
      resolvePromise(first === 1 ? Number(match?.[2]) : Number.isFinite(first) ? first : undefined);
    });
  });
}

function installedJvms(): string[] {
  const root = '/usr/lib/jvm';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name, 'bin', 'java'))
    .filter((bin) => existsSync(bin))
    .sort()
    .reverse();
}

/**
 * The first Java whose major version is within [min, max], trying `preferred` first, then
 * JAVA_HOME, `java` on PATH and whatever is installed under /usr/lib/jvm.
 */
export async function findJava(
  env: Environment,
  range: { readonly min: number; readonly max: number },
  preferred: readonly (string | undefined)[],
): Promise<Java | undefined> {
  const candidates = [
    ...preferred,
    env.JAVA_HOME === undefined ? undefined : join(env.JAVA_HOME, 'bin', 'java'),
    'java',
    ...installedJvms(),
  ].filter((bin): bin is string => bin !== undefined && bin !== '');
  for (const bin of new Set(candidates)) {
    const major = await javaMajor(bin);
    if (major !== undefined && major >= range.min && major <= range.max) return { bin, major };
  }
  return undefined;
}
