import type { Client, SchemaInfo, SchemaMetadata } from '@confluentinc/schemaregistry';

/**
 * The two registry lookups the codec's fast paths make (services/registry/codec.ts), over fetch,
 * for threads that should not load @confluentinc/schemaregistry: that library and what it pulls in
 * (protobuf, JSON Schema, rule engines) cost each V8 isolate about 80 MiB of memory. The rules
 * service's fold workers use this. Whatever the fast paths do not implement asks `fullClient()`,
 * which loads the library then, once.
 *
 * Caching is the Confluent client's: a subject's latest version for `latestTtlSecs`, a schema by
 * id for ever (ids are immutable in a registry). The same object is returned while it is cached, so
 * the codec's identity check keeps working.
 */
export interface LeanRegistryClient {
  readonly lean: true;
  getLatestSchemaMetadata(subject: string): Promise<SchemaMetadata>;
  getBySubjectAndId(subject: string, id: number): Promise<SchemaInfo>;
  /** A full @confluentinc/schemaregistry client of the same registry, made when first asked. */
  fullClient(): Promise<Client>;
}

/** A registry client as the codec takes it: the full Confluent client, or the lean one. */
export type RegistryClient = Client | LeanRegistryClient;

export function isLeanClient(client: RegistryClient): client is LeanRegistryClient {
  return 'lean' in client && client.lean === true;
}

export function createLeanRegistryClient(url: string, latestTtlSecs = 300, now: () => number = Date.now): LeanRegistryClient {
  const base = url.replace(/\/+$/, '');
  const latest = new Map<string, { at: number; value: Promise<SchemaMetadata> }>();
  const byId = new Map<string, Promise<SchemaInfo>>();
  let full: Promise<Client> | undefined;

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`, { headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' } });
    const text = await response.text();
    if (!response.ok) {
      // The registry's error body carries its code (40401: subject not found), as the Confluent client reports it.
      throw new Error(`schema registry answered ${response.status} for ${path}: ${text.slice(0, 300)}`);
    }
    return JSON.parse(text) as T;
  };

  /** Forgets a failed lookup, so the next call asks again. */
  const remember = <T>(map: Map<string, T>, key: string, entry: T, value: Promise<unknown>): void => {
    map.set(key, entry);
    value.catch(() => {
      if (map.get(key) === entry) map.delete(key);
    });
  };

  return {
    lean: true,
    getLatestSchemaMetadata(subject) {
      const cached = latest.get(subject);
      if (cached !== undefined && now() - cached.at < latestTtlSecs * 1000) return cached.value;
      const value = get<SchemaMetadata>(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
      remember(latest, subject, { at: now(), value }, value);
      return value;
    },
    getBySubjectAndId(subject, id) {
      const key = `${subject}\u0000${id}`;
      const cached = byId.get(key);
      if (cached !== undefined) return cached;
      const value = get<SchemaInfo>(`/schemas/ids/${id}?subject=${encodeURIComponent(subject)}`);
      remember(byId, key, value, value);
      return value;
    },
    fullClient() {
      full ??= import('./client').then(({ createRegistryClient }) => createRegistryClient(url));
      return full;
    },
  };
}
