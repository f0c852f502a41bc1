import { SchemaRegistryClient, type Client } from '@confluentinc/schemaregistry';

/** How long the client keeps a subject's latest version before asking the registry again. */
export const latestTtlSecs = 300;

export function createRegistryClient(url: string): Client {
  return new SchemaRegistryClient({ baseURLs: [url], cacheCapacity: 1000, cacheLatestTtlSecs: latestTtlSecs });
}
