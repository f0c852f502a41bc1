import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** tsx's ESM API, resolved from here rather than from the working directory. */
const tsxApi = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;

/**
 * Starts a worker thread on a TypeScript module. A worker thread has loaders of its own, so the
 * entry registers tsx's loader first, as bin/hub.mjs does on the main thread, then imports the
 * module. The entry is inline rather than an .mjs file beside the module, which the type-aware
 * lint would have to be told about. The parent's --import/--loader flags are not passed on.
 */
export function startTypeScriptWorker(module: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const entry = `import(${JSON.stringify(tsxApi)})
  .then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })
  .catch((error) => { process.nextTick(() => { throw error; }); });`;
  // Profiling flags carry over (`node --cpu-prof` profiles the workers too); loader flags do not.
  const execArgv = process.execArgv.filter((arg) => arg.startsWith('--cpu-prof') || arg.startsWith('--heap-prof'));
  return new Worker(entry, { execArgv, ...options, eval: true });
}
