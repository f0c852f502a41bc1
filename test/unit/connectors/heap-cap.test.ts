import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heapCapCommand } from '../../../connectors/intake/runtime';

const hub = fileURLToPath(new URL('../../../bin/hub.mjs', import.meta.url));

describe('connector heap cap (issue 10, item 4)', () => {
  const base = { argv: ['/usr/bin/node', '/srv/hub/bin/hub.mjs', 'hospitals'], execArgv: [], heapLimitMb: 4_144, env: {} };

  it('starts the hub command again with --max-old-space-size when it runs uncapped', () => {
    expect(heapCapCommand(base)).toEqual({ args: ['--max-old-space-size=384', '/srv/hub/bin/hub.mjs', 'hospitals'], heapMb: 384 });
    expect(heapCapCommand({ ...base, env: { HUB_CONNECTOR_HEAP_MB: '512' } })?.args[0]).toBe('--max-old-space-size=512');
  });

  it('runs in place when a cap is set already, in the child, or outside the hub command', () => {
    expect(heapCapCommand({ ...base, env: { NODE_OPTIONS: '--max-old-space-size=256' } })).toBeUndefined();
    expect(heapCapCommand({ ...base, execArgv: ['--max-old-space-size=1024'] })).toBeUndefined();
    expect(heapCapCommand({ ...base, env: { HUB_HEAP_CAPPED: '1' } })).toBeUndefined();
    expect(heapCapCommand({ ...base, heapLimitMb: 420 })).toBeUndefined();
    expect(heapCapCommand({ ...base, argv: ['/usr/bin/node', '/repo/node_modules/vitest/vitest.mjs'] })).toBeUndefined();
  });

  it('refuses a cap that is not a whole number of MiB', () => {
    expect(() => heapCapCommand({ ...base, env: { HUB_CONNECTOR_HEAP_MB: 'lots' } })).toThrow(/HUB_CONNECTOR_HEAP_MB/);
  });

  it('runs hub import in a capped child and passes its exit code on', () => {
    const result = spawnSync(process.execPath, [hub, 'import', 'tax', '/nonexistent/roster.csv'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', HUB_CONNECTOR_HEAP_MB: '128', HUB_LOG_LEVEL: 'silent' },
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/INPUT_INVALID: cannot read \/nonexistent\/roster\.csv/);
  }, 90_000); // two Node start-ups through tsx
});
