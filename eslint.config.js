// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

/**
 * Anything that does I/O, keeps a clock or reaches a service. The policy engine may import none of
 * it. Node's modules come from Node itself (with and without `node:`, and their sub-paths), so a
 * module a hand list forgets (worker_threads, zlib, dns, util) is fenced too.
 */
const ioModules = [
  'node:*',
  ...builtinModules.flatMap((name) => [name, `${name}/*`]),
  'kafkajs',
  'ioredis',
  'bullmq',
  'pg',
  'fastify',
  'pino',
  'prom-client',
  '@confluentinc/*',
];

const kafkaFence = [{ name: 'kafkajs', message: 'Only services/kafka imports kafkajs: use its HubKafka, producers and consumers.' }];

/**
 * A deep import into another component: a path that goes up out of the importing component and then
 * names a file inside another one. A component has two faces and no others: `index.ts`, the light
 * one (types, constants and pure functions, loading none of the heavy modules that
 * test/unit/faces.test.ts lists, so worker threads and the pure policy engine may take it), and
 * `runtime.ts`, the heavy one (clients, servers, loggers, workers, role mains).
 */
const faceFence = {
  regex: String.raw`^(?:\.\./)+(?:(?:services|connectors)/[a-z][a-z0-9-]*|(?!services/|connectors/)[a-z][a-z0-9-]*)/(?!(?:index|runtime)$).+`,
  message: 'Import another component through its index.ts (light) or its runtime.ts (heavy), not a file inside it.',
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.hub/**', 'out/**', 'coverage/**', 'bin/**', 'deploy/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // One face for Kafka: everything else speaks services/kafka's types, so another client touches
    // that folder alone. The wrapper's own unit tests build its fakes from kafkajs's types, and the
    // stack test checks the local broker with a plain client, independent of the wrapper, as the
    // secure-Kafka test checks the broker's own authorization answers.
    files: ['**/*.ts'],
    ignores: ['services/kafka/**', 'test/unit/kafka/**', 'test/integration/stack.test.ts', 'test/integration/secure-kafka.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'kafkajs', message: 'Only services/kafka imports kafkajs: use its HubKafka, producers and consumers.' }],
        },
      ],
    },
  },
  {
    // A component (services/<x>, connectors/<x>, schemas) is entered through its index.ts, the light
    // face, or its runtime.ts, the heavy face (see faceFence above and the README's layout).
    files: ['**/*.ts'],
    ignores: ['test/**', 'bench/**', 'services/kafka/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: kafkaFence, patterns: [faceFence] }],
    },
  },
  {
    // services/kafka may import kafkajs, and enters the other components through their faces all the same.
    files: ['services/kafka/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [faceFence] }],
    },
  },
  {
    // The generic intake knows agencies only as AgencyDefinition values handed in: the four concrete
    // agencies (and the connectors' table that lists them) are above it.
    files: ['connectors/intake/**/*.ts', 'connectors/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: kafkaFence,
          patterns: [
            faceFence,
            {
              regex: String.raw`^(\.\./)+(index)?$|^\.\.(/index)?$|/(civil-affairs|rural-revitalization|hospitals|tax)(/index|/runtime)?$`,
              message: 'The generic intake does not import the concrete agencies: take an AgencyDefinition from the caller.',
            },
          ],
        },
      ],
    },
  },
  {
    // An agency is defined from the intake's kit and the schemas, never from another agency.
    files: ['connectors/tax/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: kafkaFence,
          patterns: [
            faceFence,
            { regex: String.raw`/hospitals(/|$)`, message: 'connectors/tax does not import connectors/hospitals: share through schemas.' },
          ],
        },
      ],
    },
  },
  ...[
    // The policy engine is pure: (policy, facts) -> result. So is the rules fold: (facts, states,
    // policies, now) -> (outputs, states). No I/O, no clock, no randomness.
    { files: ['services/policy/engine/**/*.ts'], what: 'The policy engine' },
    { files: ['services/rules/core/**/*.ts'], what: 'The rules fold' },
  ].map(({ files, what }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: kafkaFence,
          patterns: [faceFence, { group: ioModules, message: `${what} is pure: hand I/O in from the caller.` }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: `${what} keeps no clock: dates come in as ISO strings, instants as numbers.` },
        { name: 'process', message: `${what} reads no environment.` },
        { name: 'fetch', message: `${what} does no I/O.` },
        { name: 'setTimeout', message: `${what} keeps no clock.` },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: `${what} is deterministic.` }],
    },
  })),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['*.js', '*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The warning desk's page script: plain browser JavaScript, served as is.
    files: ['services/desk/public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      globals: { ...globals.browser, echarts: 'readonly' },
      parserOptions: { projectService: false, project: null },
    },
  },
);
