import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Health and Prometheus metrics of a long-running role, on a port of its own:
 * `GET /healthz` (alive), `GET /readyz` (connected and consuming), `GET /metrics`.
 */
export interface HubMetrics {
  readonly registry: Registry;
  /** Records handled, by topic and outcome (`ok`, `rejected`, `dead-lettered`, `duplicate`). */
  readonly records: Counter<'topic' | 'outcome'>;
  /** Errors by stable code. */
  readonly errors: Counter<'code'>;
  /** Consumer lag in records, by group, topic and partition. */
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
}

export function createMetrics(role: string): HubMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    records: new Counter({
      name: 'hub_records_total',
      help: 'Records handled, by topic and outcome',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
    }),
    errors: new Counter({ name: 'hub_errors_total', help: 'Errors, by stable error code', labelNames: ['code'], registers: [registry] }),
    consumerLag: new Gauge({
      name: 'hub_consumer_lag',
      help: 'Consumer lag in records',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
    }),
  };
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, string>;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(options: {
  port: number;
  host?: string;
  metrics: HubMetrics;
  readiness: () => Promise<HealthReport> | HealthReport;
}): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    void (async () => {
      try {
        if (path === '/healthz') return send(200, 'application/json', '{"ok":true}');
        if (path === '/readyz') {
          const report = await options.readiness();
          return send(report.ok ? 200 : 503, 'application/json', JSON.stringify(report));
        }
        if (path === '/metrics') return send(200, options.metrics.registry.contentType, await options.metrics.registry.metrics());
        return send(404, 'application/json', '{"error":"not found"}');
      } catch (error) {
        return send(500, 'application/json', JSON.stringify({ error: error instanceof Error ? error.message : 'error' }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
