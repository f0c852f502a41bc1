import ExcelJS from 'exceljs';

/**
 * An XLSX workbook of one list with Chinese headers. Amounts are written as yuan numbers with the
 * format #,##0.00 (Excel shows two decimals and thousands separators and can still sum them); the
 * conversion from fen divides by 100 only here, at the edge.
 */
export interface XlsxColumn<T> {
  readonly header: string;
  readonly width: number;
  readonly value: (row: T) => string | number;
  readonly money?: boolean;
}

export async function buildXlsx<T>(sheetName: string, columns: readonly XlsxColumn<T>[], rows: Iterable<T>): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = '医疗保障局预警台';
  const sheet = workbook.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = columns.map((c, i) => ({
    header: c.header,
    key: `c${i}`,
    width: c.width,
    style: c.money === true ? { numFmt: '#,##0.00' } : {},
  }));
  sheet.getRow(1).font = { bold: true };
  for (const row of rows) {
    sheet.addRow(
      Object.fromEntries(
        columns.map((c, i) => {
          const value = c.value(row);
          return [`c${i}`, c.money === true && typeof value === 'number' ? value / 100 : value];
        }),
      ),
    );
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
