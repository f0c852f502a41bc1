// `hub tail` reads a topic through Kafka and the registry: all of it is in ./runtime.
export type { TailOptions } from './tail-command';
