// The topics, agencies and record types every component derives from, with the Avro schemas beside
// them: one source, in ./declarations.
export * from './declarations';
