// The heavy face of `hub tail`: a topic's records read from Kafka, decoded through the registry.
export { runTail, parseTailArgs, tailLine, type TailOptions } from './tail-command';
