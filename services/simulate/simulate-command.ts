import { HubError, type RoleMain } from '../platform';
import { describeSimulation, feedAgencies, simulateRegion, type FeedAgency } from './simulate-region';

const usage =
  'usage: hub simulate --people N --region ID --out DIR [--year Y] [--seed S] [--bad-rate R] [--only AGENCY,…]\n' +
  '  ID is a policy id (wenzhou-2019, jiangxi-2025, tibet-2017, xianyang-2020, anhui-huangshan-2022) or a region name with --year';

/** `hub simulate`: a synthetic region's agency feeds, for the demo, the tests and the benchmarks. */
export const runSimulate: RoleMain = async (args, io) => {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    if (!['--people', '--region', '--out', '--year', '--seed', '--bad-rate', '--only'].includes(name))
      throw new HubError('USAGE', `unexpected argument '${arg}'\n${usage}`);
    const value = inline ?? args[i + 1];
    if (value === undefined) throw new HubError('USAGE', `${name} needs a value\n${usage}`);
    flags.set(name, value);
    if (inline === undefined) i += 1;
  }
  const people = flags.get('--people');
  const region = flags.get('--region');
  const outDir = flags.get('--out');
  if (people === undefined || region === undefined || outDir === undefined) throw new HubError('USAGE', usage);
  const number = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new HubError('USAGE', `${name} is a number, not '${text}'`);
    return value;
  };
  const only = flags
    .get('--only')
    ?.split(',')
    .map((agency) => agency.trim());
  for (const agency of only ?? []) {
    if (!(feedAgencies as readonly string[]).includes(agency))
      throw new HubError('USAGE', `--only names agencies among ${feedAgencies.join(', ')}, not '${agency}'`);
  }
  const year = number('--year', flags.get('--year'));
  const badRate = number('--bad-rate', flags.get('--bad-rate'));
  const seed = flags.get('--seed');
  const summary = await simulateRegion({
    people: number('--people', people) ?? 0,
    region,
    outDir,
    ...(year === undefined ? {} : { year }),
    ...(badRate === undefined ? {} : { badRate }),
    ...(seed === undefined ? {} : { seed }),
    ...(only === undefined ? {} : { only: only as FeedAgency[] }),
  });
  io.stdout.write(describeSimulation(summary));
  io.stdout.write(`  written to ${outDir} (clear ID numbers are in the agency files: keep them as you would the agencies' own)\n`);
  return 0;
};
