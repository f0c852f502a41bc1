import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every component (services/<x>, connectors/<x>, connectors itself, schemas) has a light face,
 * index.ts, and where it has adapters a heavy one, runtime.ts (eslint.config.js lets other
 * components import nothing else). The light face is what worker threads and the pure policy engine
 * load, so it must not reach, through anything it imports or re-exports, one of the modules below.
 *
 * Heavy: the clients, servers and loggers of the stack's services, ExcelJS and the browser driver,
 * and Node's modules that open sockets, servers, threads or processes. Not heavy: node:fs, path,
 * url, crypto and the like (part of Node's own start-up, they load nothing), and the pure parsers
 * (avsc, yaml, ajv, csv-parse, iconv-lite): the schemas and policies are read from their committed
 * files by the light faces themselves.
 */
const heavyModules: readonly string[] = [
  'kafkajs',
  'ioredis',
  'bullmq',
  'pg',
  'fastify',
  '@fastify/*',
  'pino',
  'prom-client',
  '@confluentinc/*',
  'exceljs',
  'playwright-core',
  'node:http',
  'node:https',
  'node:http2',
  'node:net',
  'node:tls',
  'node:dgram',
  'node:worker_threads',
  'node:child_process',
  'node:cluster',
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function isHeavy(specifier: string): boolean {
  const bare = specifier.startsWith('node:') ? specifier : /^[a-z_0-9]+(\/|$)/.test(specifier) ? `node:${specifier}` : specifier;
  return heavyModules.some((heavy) =>
    heavy.endsWith('/*')
      ? specifier.startsWith(heavy.slice(0, -1))
      : specifier === heavy || specifier.startsWith(`${heavy}/`) || bare === heavy || bare.startsWith(`${heavy}/`),
  );
}

/**
 * The modules a file loads when it is loaded: its static imports and export-froms, without the
 * type-only ones (`import type`, `export type`), which TypeScript erases. A dynamic import() is
 * loaded when called, not with the file, so it is not followed.
 */
const statement = /(?:^|\n)[ \t]*(import|export)(\s+type\b)?(?:\s+[^'";]*?\s+from)?\s*['"]([^'"]+)['"]/g;

function loadedBy(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  return [...text.matchAll(statement)].filter((match) => match[2] === undefined).map((match) => match[3] ?? '');
}

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = join(dirname(from), specifier);
  return [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/** The chains from the entry to each heavy module it reaches, as `a.ts -> b.ts -> module`. */
function heavyChains(entry: string): string[] {
  const parent = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  const chains: string[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const specifier of loadedBy(file)) {
      if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (target !== undefined && !parent.has(target)) {
          parent.set(target, file);
          queue.push(target);
        }
      } else if (isHeavy(specifier)) {
        const chain = [specifier];
        for (let at: string | undefined = file; at !== undefined; at = parent.get(at)) chain.unshift(relative(root, at));
        chains.push(chain.join(' -> '));
      }
    }
  }
  return chains;
}

const components = [
  'schemas',
  'connectors',
  ...['services', 'connectors'].flatMap((folder) =>
    readdirSync(join(root, folder), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${folder}/${entry.name}`),
  ),
];

describe('component faces', () => {
  it('finds every component and its index.ts', () => {
    expect(components).toEqual(expect.arrayContaining(['services/platform', 'services/kafka', 'connectors/intake', 'schemas']));
    for (const component of components) expect(existsSync(join(root, component, 'index.ts')), component).toBe(true);
  });

  it.each(components)('%s/index.ts loads no heavy module', (component) => {
    expect(heavyChains(join(root, component, 'index.ts'))).toEqual([]);
  });

  it.each(components)('%s/index.ts only imports and re-exports', (component) => {
    const text = readFileSync(join(root, component, 'index.ts'), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '')
      .replace(/(?:^|\n)[ \t]*(?:(?:import|export)\b[^;'"]*?\bfrom|import)\s*['"][^'"]+['"];/g, '')
      .replace(/(?:^|\n)[ \t]*export\s+(?:type\s+)?\{[^}]*\};/g, '');
    expect(text.trim(), `${component}/index.ts holds code of its own: move it into a named file`).toBe('');
  });

  it('names the chain to a heavy module', () => {
    // A runtime face reaches its adapters: the walk sees them, and says through what.
    const chains = heavyChains(join(root, 'services/platform/runtime.ts'));
    expect(chains).toContain('services/platform/runtime.ts -> services/platform/logger.ts -> pino');
    expect(chains).toContain('services/platform/runtime.ts -> services/platform/ts-worker.ts -> node:worker_threads');
    expect(isHeavy('worker_threads')).toBe(true);
    expect(isHeavy('@confluentinc/schemaregistry')).toBe(true);
    expect(isHeavy('node:fs')).toBe(false);
    expect(isHeavy('pino-pretty')).toBe(false);
  });
});
