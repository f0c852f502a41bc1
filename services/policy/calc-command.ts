import { readFileSync } from 'node:fs';
import { HubError, isHubError, type CliIo, type RoleMain } from '../platform';
import {
  computeSubsidy,
  computeYear,
  parseFacts,
  warningVerdict,
  type Category,
  type ContributionSubsidy,
  type WarningVerdict,
  type YearResult,
} from './engine';
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

/**
 * The `hub calc` output: settlements in input order, then the year's totals; `subsidies` when the
 * input has contribution records, `warning` when `--period` is given.
 */
export interface CalcOutput {
  readonly settlements: readonly CalcSettlement[];
  readonly totals: {
    readonly eligibleFen: number;
    readonly criticalIllnessFen: number;
    readonly assistanceFen: number;
    readonly selfPayFen: number;
  };
  readonly subsidies?: readonly ContributionSubsidy[];
  readonly warning?: WarningVerdict;
}

const usage = `usage: hub calc --policy ID [--input FILE] [--period PERIOD]

Computes one person-year under a policy and prints it as JSON: per settlement the eligible amount,
critical illness, assistance, self-pay and the category that changed the payment (categoryApplied),
then the totals. The input (JSON on stdin, or in FILE):

  { "insuredType": "RESIDENT" | "EMPLOYEE", "population"?: "...",
    "statuses": [{ "category": "DIBAO", "from": "2022-03-01", "to": null }],
    "settlements": [{ "id", "settledAt", "medicalType", "totalFen", "fullOwnPayFen", "overLimitFen",
                      "preSelfPayFen", "policyScopeFen", "basicPaidFen", "reversesId"?, "diseaseCode"? }],
    "contributions"?: [{ "id", "insuranceYear", "insuredType", "contributionDueFen", "subsidisedFen", "paidAt" }] }

With contributions, "subsidies" gives each record's participation-subsidy verdict. With --period
(2022-Q2, or 2022-05 for a monthly policy), "warning" gives the warning verdict for that period.
"diseaseCode" is a 门诊慢特病 settlement's 病种编码: a policy listing the classes or diseases that
count reads it, and says what a settlement without one does. Money is integer fen. A bad input
exits 2 with one line on stderr naming the field.
`;

/**
 * The contract's view of a computed year. `categoryApplied` is the tilt category of the
 * critical-illness payment, else the category of the assistance payment, else null: a category
 * is named only where it changed what the settlement pays.
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

function parseArguments(args: readonly string[]): { policyId: string; inputFile: string | undefined; period: string | undefined } {
  let policyId: string | undefined;
  let inputFile: string | undefined;
  let period: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--policy' && flag !== '--input' && flag !== '--period')
      throw new HubError('USAGE', `hub calc: unknown argument "${arg}" (usage: hub calc --policy ID [--input FILE] [--period PERIOD])`);
    const value = inline ?? args[(i += 1)];
    if (value === undefined || value === '') throw new HubError('USAGE', `hub calc: ${flag} needs a value`);
    if (flag === '--policy') policyId = value;
    else if (flag === '--input') inputFile = value;
    else period = value;
  }
  if (policyId === undefined)
    throw new HubError('USAGE', 'hub calc: --policy ID is required (usage: hub calc --policy ID [--input FILE] [--period PERIOD])');
  return { policyId, inputFile, period };
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
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(usage);
    return 0;
  }
  try {
    const { policyId, inputFile, period } = parseArguments(args);
    const policy = loadPolicy(policyId);
    const text = await readInput(inputFile, io);
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new HubError('INPUT_INVALID', `input: is not valid JSON (${reason})`, { detail: { field: 'input' } });
    }
    const facts = parseFacts(policy, input);
    const year = computeYear(policy, facts);
    const output: CalcOutput = {
      ...toCalcOutput(year),
      ...(facts.contributions === undefined ? {} : { subsidies: computeSubsidy(policy, facts).contributions }),
      ...(period === undefined ? {} : { warning: warningVerdict(policy, facts, year, period) }),
    };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (isHubError(error, 'INPUT_INVALID') || isHubError(error, 'POLICY_NOT_FOUND') || isHubError(error, 'USAGE')) {
      io.stderr.write(`hub: ${error.code}: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    throw error;
  }
};
