// The light face of registry: the topic codec and the lean registry client (over fetch), which the
// rules service's worker threads use. The Confluent client and `hub schemas` are in ./runtime.
export { createTopicCodec, valueSubject, type TopicCodec } from './codec';
export { createLeanRegistryClient, type LeanRegistryClient, type RegistryClient } from './lean-client';
export type { SubjectPlan, SubjectResult, CheckOutcome } from './subjects';
