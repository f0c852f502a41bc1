import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../services/platform/runtime';

function capture(): { stream: Writable; lines: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text };
}

describe('logging', () => {
  it('redacts ID-number and name fields and masks ID numbers inside free text', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', role: 'test', destination: out.stream });
    logger.info({ record: { idNumber: '11010519491231002X', name: '张三', amountFen: 100 } }, 'row from 11010519491231002X rejected');
    logger.error({ err: new Error('bad id 110105194912310021 in row 3') }, 'failed');
    const text = out.lines();
    expect(text).not.toContain('11010519491231002X');
    expect(text).not.toContain('110105194912310021');
    expect(text).not.toContain('张三');
    expect(text).toContain('"amountFen":100');
    expect(text).toContain('110***************');
  });
});
