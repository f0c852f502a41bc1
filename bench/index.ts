import { HubError, type RoleMain } from '../services/platform';
import { runEngineBench } from './engine';

/** Benchmarks by name: `hub bench engine`. Each prints its own figures. */
const benchmarks: Readonly<Record<string, RoleMain>> = {
  engine: runEngineBench,
  rules: (args, io) => import('./rules').then((m) => m.runRulesBench(args, io)),
  warnings: (args, io) => import('./warnings').then((m) => m.runWarningsBench(args, io)),
};

export const runBench: RoleMain = (args, io) => {
  const [name, ...rest] = args;
  const bench = name === undefined ? undefined : benchmarks[name];
  if (bench === undefined) {
    return Promise.reject(new HubError('USAGE', `hub bench: name a benchmark (${Object.keys(benchmarks).join(', ')})`));
  }
  return bench(rest, io);
};
