import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import iconv from 'iconv-lite';

/**
 * CSV as agencies export it: UTF-8 (with a BOM when meant for Excel) or GBK. Lines are gathered into
 * chunks and written with backpressure, so a file of a million settlements streams to disk.
 */
export type CsvEncoding = 'utf-8' | 'utf-8-bom' | 'gbk';

function cell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export class CsvFileWriter {
  private readonly stream: WriteStream;
  private pending = '';
  private failure: Error | undefined;

  constructor(
    path: string,
    private readonly encoding: CsvEncoding,
  ) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (error) => {
      this.failure = error;
    });
    if (encoding === 'utf-8-bom') this.pending = '\uFEFF';
  }

  async writeRow(cells: readonly string[]): Promise<void> {
    this.pending += `${cells.map(cell).join(',')}\r\n`;
    if (this.pending.length >= 64 * 1024) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.pending === '') return;
    const bytes = this.encoding === 'gbk' ? iconv.encode(this.pending, 'gbk') : Buffer.from(this.pending, 'utf8');
    this.pending = '';
    if (!this.stream.write(bytes)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
    if (this.failure !== undefined) throw this.failure;
  }
}
