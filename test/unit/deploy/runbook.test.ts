import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { usage } from '../../../services/cli';
import { configSpec, errorCodes } from '../../../services/platform';

/**
 * deploy/RUNBOOK.md names metrics, label values, error codes, configuration keys and `hub` roles
 * an operator will search for; each must exist in the code, or the runbook sends them after
 * something that is not there.
 */

const root = join(import.meta.dirname, '..', '..', '..');
const runbook = readFileSync(join(root, 'deploy', 'RUNBOOK.md'), 'utf8');

/** Every TypeScript source of the running hub (not tests, not benchmarks). */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [readFileSync(join(root, path), 'utf8')] : [];
  });
}
const code = [...sources('services'), ...sources('connectors')].join('\n');

/** Backticked spans of the runbook (inline code), and the lines of its code blocks. */
const inline = [...runbook.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');

async function defaultMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
}

describe('deploy/RUNBOOK.md against the code', () => {
  it("names only metrics the hub registers, or prom-client's default metrics the hub collects", async () => {
    const named = new Set(inline.flatMap((span) => [...span.matchAll(/\b((?:hub|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1] ?? '')));
    expect([...named].filter((name) => name.startsWith('hub_')).length).toBeGreaterThan(2);
    const defaults = await defaultMetricNames();
    expect(code).toContain('collectDefaultMetrics(');
    for (const name of named) {
      const registered = new RegExp(`name: '${name}'`).test(code);
      expect(registered || (!name.startsWith('hub_') && defaults.has(name)), name).toBe(true);
    }
  });

  it('names only record outcomes the code counts', () => {
    const outcomes = new Set([...runbook.matchAll(/outcome="([a-z-]+)"/g)].map((m) => m[1] ?? ''));
    expect(outcomes.size).toBeGreaterThan(0);
    for (const outcome of outcomes) expect(code, outcome).toContain(`outcome: '${outcome}'`);
  });

  it('names only error codes the hub has, configuration keys it knows and roles the hub command has', () => {
    const codes = new Set(inline.filter((span) => /^[A-Z][A-Z_]+[A-Z]$/.test(span) && !span.startsWith('HUB_')));
    expect(codes.size).toBeGreaterThan(2);
    for (const name of codes) expect(Object.keys(errorCodes), name).toContain(name);
    const keys = new Set([...runbook.matchAll(/\b(HUB_[A-Z0-9_]+)/g)].map((m) => m[1] ?? ''));
    const known = new Set(Object.values(configSpec).map((spec) => spec.env));
    for (const key of keys) expect(known.has(key), key).toBe(true);
    const roles = new Set([...usage().matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]));
    const commands = [...inline, ...[...runbook.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')].join('\n');
    const invoked = [...commands.matchAll(/(?:(?<![\w./-])hub |hub\.mjs |run --rm (?:-[ev] \S+ )*[a-z][a-z-]* )([a-z-]+)/g)].map(
      (m) => m[1] ?? '',
    );
    expect(invoked.length).toBeGreaterThan(3);
    for (const role of invoked) expect(roles, role).toContain(role);
  });
});
