// The heavy face of registry: the Confluent client, subject registration and checks, `hub schemas`.
export { createRegistryClient } from './client';
export { checkSubjects, registerSubjects, subjectPlan, type SubjectPlan, type SubjectResult, type CheckOutcome } from './subjects';
export { registerAllSchemas, runSchemas } from './schemas-command';
