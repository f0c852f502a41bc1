import { writeFile } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';

/**
 * A minimal XLSX writer: one worksheet, text cells and date cells, inline strings, deterministic
 * bytes (fixed zip timestamps, fixed entry order), so that a seed gives a byte-identical workbook.
 * Rows are kept in memory until `save`; the simulator writes XLSX only for the status rosters,
 * which are a few percent of the population.
 */
/** A cell: text, a date or date-time (Excel serials), or a number as Excel stores one typed into a General column. */
export type XlsxCell = string | { readonly date: string } | { readonly dateTime: string } | { readonly number: string };

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i += 1) crc = (crcTable[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function escapeXml(text: string): string {
  // Control characters other than tab and newlines are not allowed in XML 1.0.
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}

function columnName(index: number): string {
  let name = '';
  let n = index + 1;
  while (n > 0) {
    const rem = (n - 1) % 26;
    name = String.fromCharCode(65 + rem) + name;
    n = Math.floor((n - 1) / 26);
  }
  return name;
}

/** Excel's serial day number (1900 date system) of a wall-clock date and time, or undefined if not real. */
function excelSerial(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const millis = Date.UTC(year, month - 1, day, Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0));
  const back = new Date(millis);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return millis / 86_400_000 + 25_569;
}

const styles =
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2"><numFmt ` +
  `numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>` +
  `<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts><fills count="2"><fill><patternFill ` +
  `patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1">` +
  `<border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf ` +
  `numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf ` +
  `numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" ` +
  `fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" ` +
  `fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>`;

export class XlsxSheetWriter {
  private readonly rows: string[] = [];

  constructor(private readonly sheetName: string) {}

  addRow(cells: readonly XlsxCell[]): void {
    const r = this.rows.length + 1;
    const xml = cells
      .map((cell, column) => {
        const ref = `${columnName(column)}${r}`;
        if (typeof cell !== 'string' && 'number' in cell) return `<c r="${ref}"><v>${escapeXml(cell.number)}</v></c>`;
        if (typeof cell !== 'string') {
          const text = 'date' in cell ? cell.date : cell.dateTime;
          const serial = excelSerial(text);
          // A date that does not exist stays text, as Excel keeps what it cannot read as a date.
          if (serial !== undefined) return `<c r="${ref}" s="${'date' in cell ? 1 : 2}"><v>${serial}</v></c>`;
          return text === '' ? '' : `<c r="${ref}" t="inlineStr"><is><t>${escapeXml(text)}</t></is></c>`;
        }
        return cell === '' ? '' : `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${escapeXml(cell)}</t></is></c>`;
      })
      .join('');
    this.rows.push(`<row r="${r}">${xml}</row>`);
  }

  toBuffer(): Buffer {
    const sheet =
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet ` +
      `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${this.rows.join('')}</sheetData></worksheet>`;
    return xlsxWorkbook(this.sheetName, sheet);
  }

  async save(path: string): Promise<void> {
    await writeFile(path, this.toBuffer());
  }
}

/**
 * A workbook of one worksheet given as its XML, as written: what other generators write (inline rich
 * text, rows without references) can be made as it is, for the readers' tests.
 */
export function xlsxWorkbook(sheetName: string, sheetXml: string): Buffer {
  const entries: [string, string][] = [
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types ' +
        'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ' +
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ' +
        'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ' +
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
        '<Override PartName="/xl/worksheets/sheet1.xml" ' +
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' +
        '<Override PartName="/xl/styles.xml" ' +
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
    ],
    [
      '_rels/.rels',
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships ' +
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" ' +
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" ' +
        'Target="xl/workbook.xml"/></Relationships>',
    ],
    [
      'xl/workbook.xml',
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook ` +
        `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
        `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet ` +
        `name="${escapeXml(sheetName)}" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    ],
    [
      'xl/_rels/workbook.xml.rels',
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships ' +
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" ' +
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" ' +
        'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" ' +
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
    ],
    ['xl/styles.xml', styles],
    ['xl/worksheets/sheet1.xml', sheetXml],
  ];
  return zip(entries.map(([name, text]) => ({ name, data: Buffer.from(text, 'utf8') })));
}

/** A zip archive of deflated entries with the DOS epoch (1980-01-01 00:00) as every timestamp. */
function zip(entries: readonly { name: string; data: Buffer }[]): Buffer {
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  const utf8Names = 0x0800;
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data, { level: 6 });
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(utf8Names, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(utf8Names, 8);
    header.writeUInt16LE(8, 10);
    header.writeUInt16LE(dosTime, 12);
    header.writeUInt16LE(dosDate, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(compressed.length, 20);
    header.writeUInt32LE(entry.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(offset, 42);
    central.push(header, name);
    parts.push(local, name, compressed);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = central.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}
