// The light face of the local stack: its types and where it keeps its files. Starting, probing and
// stopping the stack (child processes, sockets) is in ./runtime.
export type { StackOptions, StackReport, StopResult } from './stack';
export type { ComponentName, ComponentStatus } from './component';
export { stackPaths } from './paths';
export type { SecureKafka, SecureStackOptions } from './secure-kafka';
