// The heavy face of rules: the running role, over Kafka, Redis and the fold worker threads.
export {
  runRules,
  defaultOpsPort,
  openRules,
  startRules,
  rebuild,
  rulesConsumerOptions,
  type RulesRuntime,
  type LiveRulesService,
} from './run-rules';
