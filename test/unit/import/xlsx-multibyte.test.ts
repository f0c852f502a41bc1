import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readXlsxRows } from '../../../connectors/intake/file-formats';
import { XlsxSheetWriter } from '../../../services/simulate';

describe('reading XLSX with Chinese text', () => {
  it("keeps every multi-byte character whole, even where the sheet's compressed chunks end inside one", async () => {
    const labels = ['防止返贫监测对象', '返贫致贫人口', '纳入', '风险消除', '脱贫人口（稳定脱贫）', '建档立卡贫困人口'];
    const writer = new XlsxSheetWriter('数据');
    const expected: string[][] = [];
    for (let row = 0; row < 4000; row += 1) {
      const cells = [0, 1, 2, 3, 4].map((i) => `${labels[(row + i) % labels.length] ?? ''}${'测试'.repeat((row % 7) + 1)}`);
      writer.addRow(cells);
      expected.push(cells);
    }
    const rows: string[][] = [];
    for await (const row of readXlsxRows(Readable.from([writer.toBuffer()]))) rows.push([...row.cells]);
    expect(rows.filter((cells) => cells.some((cell) => cell.includes('\uFFFD')))).toEqual([]);
    expect(rows).toEqual(expected);
  });
});
