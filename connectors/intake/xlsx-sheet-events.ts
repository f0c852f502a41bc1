/**
 * Worksheet XML as ExcelJS's streaming reader (4.4.0) can read it. Three things it gets wrong, put
 * right on the parser's events before ExcelJS sees them (exceljs-utf8.ts feeds every part through):
 *
 * - Rows and cells without a reference. The `r` attributes of `<row>` and `<c>` are optional in
 *   SpreadsheetML (a row is then the one after the previous row, a cell the one after the previous
 *   cell), and some generators leave them out; ExcelJS failed with a TypeError. They are filled in
 *   by position; a reference that is present but not one is refused with a reason.
 * - Inline rich text. `<is><r><t>王</t></r><r><t>秀英</t></r></is>` holds one cell's text in runs;
 *   ExcelJS started the cell's text again at every `<t>`, so only the last run was read. The runs are
 *   joined (phonetic runs, `<rPh>`, are a reading aid and left out).
 * - Text outside cell values. ExcelJS appends any text to the last value it read until the next value
 *   starts, also text between other tags, so a sheet could grow that string without bound in pieces
 *   each below the parser's per-text bound. Only values are passed on, and a cell's text is bounded.
 */

/** A parser event as ExcelJS's `parse-sax` module yields it. */
export interface SaxEvent {
  readonly eventType: 'opentag' | 'text' | 'closetag';
  readonly value: unknown;
}

interface TagNode {
  readonly name: string;
  readonly attributes: Record<string, unknown>;
}

/** A worksheet the reader refuses: a reference that is not one, or a cell past the size bound. */
export class XlsxSheetInvalid extends Error {
  override readonly name = 'XlsxSheetInvalid';
}

/** Excel's last row and column (XFD). */
const maxRow = 1_048_576;
const maxColumn = 16_384;

function columnLetters(column: number): string {
  let letters = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

function columnNumber(letters: string): number {
  let column = 0;
  for (const letter of letters) column = column * 26 + letter.charCodeAt(0) - 64;
  return column;
}

const nodeOf = (value: unknown): TagNode => value as TagNode;

/** A bad reference as the error quotes it: cut short, so the reason can never carry a whole ID number. */
const quoted = (value: unknown): string => (typeof value === 'string' ? (value.length > 12 ? `${value.slice(0, 12)}…` : value) : '?');

/**
 * A stateful rewriter of one part's events, batch by batch. Parts other than a worksheet (the first
 * tag tells) pass through untouched.
 */
export function createSheetEventRewriter(maxCellChars: number): (events: readonly SaxEvent[]) => SaxEvent[] {
  let sheet: boolean | undefined;
  let row = 0;
  let column = 0;
  let inCell = false;
  let cellChars = 0;
  /** Inside `<f>` or `<v>` of a cell: text there is the cell's value. */
  let inValue = 0;
  /** Inside `<is>`: the elements opened within it, and the text of its runs so far. */
  let inline: { stack: string[]; text: string } | undefined;

  const countCellText = (text: string): void => {
    cellChars += text.length;
    if (cellChars > maxCellChars)
      throw new XlsxSheetInvalid(`cell ${columnLetters(column)}${row} holds more than ${maxCellChars} characters (Excel allows 32,767)`);
  };

  return (events) => {
    if (sheet === false) return [...events];
    const out: SaxEvent[] = [];
    for (const event of events) {
      if (sheet === undefined && event.eventType === 'opentag') sheet = nodeOf(event.value).name === 'worksheet';
      if (sheet !== true) {
        out.push(event);
        continue;
      }

      if (inline !== undefined) {
        // Inside an inline string: only its runs' text goes on, as one text event before </is>.
        if (event.eventType === 'opentag') {
          inline.stack.push(nodeOf(event.value).name);
          continue;
        }
        if (event.eventType === 'text') {
          if (inline.stack.at(-1) === 't' && !inline.stack.includes('rPh')) {
            countCellText(event.value as string);
            inline.text += event.value as string;
          }
          continue;
        }
        if (inline.stack.length > 0) {
          inline.stack.pop();
          continue;
        }
        // </is>. ExcelJS decodes entities in an inline string's text once more; the parser has
        // decoded them already, so an ampersand is escaped for that second pass to give it back.
        out.push({ eventType: 'text', value: inline.text.replace(/&/g, '&amp;') }, event);
        inline = undefined;
        continue;
      }

      if (event.eventType === 'opentag') {
        const node = nodeOf(event.value);
        if (node.name === 'row') {
          const given = node.attributes.r;
          if (given === undefined) {
            row += 1;
          } else {
            const number = typeof given === 'string' && /^\d{1,7}$/.test(given) ? Number(given) : Number.NaN;
            if (!(number >= 1 && number <= maxRow))
              throw new XlsxSheetInvalid(`the row after row ${row} has the reference "${quoted(given)}", which is not a row number`);
            row = number;
          }
          node.attributes.r = String(row);
          column = 0;
        } else if (node.name === 'c') {
          const given = node.attributes.r;
          if (given === undefined) {
            column += 1;
          } else {
            const match = typeof given === 'string' ? /^\$?([A-Z]{1,3})\$?(\d{1,7})$/.exec(given) : null;
            const number = match === null ? Number.NaN : columnNumber(match[1] ?? '');
            if (!(number >= 1 && number <= maxColumn))
              throw new XlsxSheetInvalid(`a cell of row ${row} has the reference "${quoted(given)}", which is not a cell reference`);
            column = number;
          }
          if (column > maxColumn) throw new XlsxSheetInvalid(`row ${row} has more than ${maxColumn} cells`);
          node.attributes.r = `${columnLetters(column)}${row}`;
          inCell = true;
          cellChars = 0;
        } else if (inCell && (node.name === 'v' || node.name === 'f')) {
          inValue += 1;
        } else if (inCell && node.name === 'is') {
          inline = { stack: [], text: '' };
        }
        out.push(event);
        continue;
      }
      if (event.eventType === 'closetag') {
        const name = nodeOf(event.value).name;
        if (name === 'c') {
          inCell = false;
          inValue = 0;
        }
        if (inCell && (name === 'v' || name === 'f') && inValue > 0) inValue -= 1;
        out.push(event);
        continue;
      }
      if (inValue > 0) {
        countCellText(event.value as string);
        out.push(event);
      }
    }
    return out;
  };
}
