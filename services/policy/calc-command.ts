import { readFileSync } from 'node:fs';
import { HubError, isHubError, type CliIo, type RoleMain } from '../platform';
import { computeYear, parseFacts, type Category, type YearResult } from './engine';
import { loadPolicy } from './policy-files';

/** One settlement of the `hub calc` output (a public contract: keep the fields and their order). */
export interface CalcSettlement {
  readonly id: string;
  readonly eligibleFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly selfPayFen: number;
  readonly categoryApplied: Category | null;
}

/** The `hub calc` output: settlements in input order, then the year's totals. */
export interface CalcOutput {
  readonly settlements: readonly CalcSettlement[];
  readonly totals: {
    readonly eligibleFen: number;
    readonly criticalIllnessFen: number;
    readonly assistanceFen: number;
    readonly selfPayFen: number;
  };
}

/**
 * The contract's view of a computed year. `categoryApplied` is the tilt category of the
 * critical-illness payment, else the category of the assistance payment, else null.
 */
export function toCalcOutput(year: YearResult): CalcOutput {
  return {
    settlements: year.settlements.map((s) => ({
      id: s.id,
      eligibleFen: s.eligibleFen,
      criticalIllnessFen: s.criticalIllnessFen,
      assistanceFen: s.assistanceFen,
      selfPayFen: s.selfPayFen,
      categoryApplied: s.criticalIllnessCategory ?? s.assistanceCategory,
    })),
    totals: {
      eligibleFen: year.totals.eligibleFen,
      criticalIllnessFen: year.totals.criticalIllnessFen,
      assistanceFen: year.totals.assistanceFen,
      selfPayFen: year.totals.selfPayFen,
    },
  };
}

function parseArguments(args: readonly string[]): { policyId: string; inputFile: string | undefined } {
  let policyId: string | undefined;
  let inputFile: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--policy' && flag !== '--input') throw new HubError('USAGE', `hub calc: unknown argument "${arg}" (usage: hub calc --policy ID [--input FILE])`);
    const value = inline ?? args[(i += 1)];
    if (value === undefined || value === '') throw new HubError('USAGE', `hub calc: ${flag} needs a value`);
    if (flag === '--policy') policyId = value;
    else inputFile = value;
  }
  if (policyId === undefined) throw new HubError('USAGE', 'hub calc: --policy ID is required (usage: hub calc --policy ID [--input FILE])');
  return { policyId, inputFile };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function readInput(inputFile: string | undefined, io: CliIo): Promise<string> {
  if (inputFile === undefined) return readAll(io.stdin);
  try {
    return readFileSync(inputFile, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new HubError('INPUT_INVALID', `--input: cannot read "${inputFile}" (${reason})`, { detail: { field: '--input' } });
  }
}

/**
 * `hub calc --policy ID [--input FILE]`: computes one person-year (JSON on stdin or in FILE) and
 * prints the result as JSON. A bad input or an unknown policy exits 2 with one line on stderr
 * naming the offending field, and prints nothing on stdout.
 */
export const runCalc: RoleMain = async (args, io) => {
  try {
    const { policyId, inputFile } = parseArguments(args);
    const policy = loadPolicy(policyId);
    const text = await readInput(inputFile, io);
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new HubError('INPUT_INVALID', `input: is not valid JSON (${reason})`, { detail: { field: 'input' } });
    }
    const year = computeYear(policy, parseFacts(policy, input));
    io.stdout.write(`${JSON.stringify(toCalcOutput(year), null, 2)}\n`);
    return 0;
  } catch (error) {
    if (isHubError(error, 'INPUT_INVALID') || isHubError(error, 'POLICY_NOT_FOUND') || isHubError(error, 'USAGE')) {
      io.stderr.write(`hub: ${error.code}: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    throw error;
  }
};
