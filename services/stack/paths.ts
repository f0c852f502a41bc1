import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Environment } from '../platform';

/** Where the local stack keeps things: per checkout (state) and per machine (cache). */
export interface StackPaths {
  /** Data, pid files and logs of this checkout's stack (`HUB_STATE_DIR`, default `.hub`). */
  readonly stateDir: string;
  readonly logsDir: string;
  /** Downloads shared by every checkout on the machine (`HUB_CACHE_DIR`, default `~/.cache/medsec-hub`). */
  readonly cacheDir: string;
  /** The Maven local repository inside the cache. */
  readonly m2Dir: string;
  /** deploy/local of this checkout: the Maven pom and the Kafka configuration templates. */
  readonly deployDir: string;
}

// services/stack/ → project root. Found from this file, not the working directory, so `hub` works from anywhere.
const deployDir = fileURLToPath(new URL('../../deploy/local/', import.meta.url));

export function stackPaths(stateDir: string, env: Environment): StackPaths {
  const state = resolve(stateDir);
  const home = env.HOME ?? homedir();
  const cacheRoot = env.XDG_CACHE_HOME ?? join(home, '.cache');
  const cacheDir = resolve(env.HUB_CACHE_DIR ?? join(cacheRoot, 'medsec-hub'));
  return {
    stateDir: state,
    logsDir: join(state, 'logs'),
    cacheDir,
    m2Dir: join(cacheDir, 'm2'),
    deployDir,
  };
}

/** A path as a person would type it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
