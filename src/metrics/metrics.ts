/**
 * Prometheus metrics (prom-client): one registry per process, served at
 * /metrics on a loopback port. Metric names and labels live here only.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'hashgrid_process_' });
  return registry;
}

/** Counts bad bus messages by subject and error code, in every service. */
export function busErrorCounter(registry: Registry) {
  const counter = new Counter({
    name: 'hashgrid_bus_errors_total',
    help: 'Bus messages rejected (malformed, wrong version, wrong types, too large) or failed, by subject and code',
    labelNames: ['subject', 'code'],
    registers: [registry],
  });
  return (subject: string, code: string) => counter.inc({ subject, code });
}

export function nodeMetrics(registry: Registry) {
  return {
    hashrate: new Gauge({ name: 'hashgrid_node_hashrate', help: 'Hashes per second over the meter window, per backend', labelNames: ['backend'], registers: [registry] }),
    shares: new Counter({ name: 'hashgrid_node_shares_found_total', help: 'Shares found (verified on the reference)', registers: [registry] }),
    sharesAcked: new Counter({ name: 'hashgrid_node_shares_acked_total', help: 'Shares stored by JetStream', registers: [registry] }),
    hitsDropped: new Counter({
      name: 'hashgrid_node_hits_dropped_total',
      help: 'Hits lost to a full backend hit buffer (the share target is too easy for the backend)',
      registers: [registry],
    }),
    jobSwitches: new Counter({ name: 'hashgrid_node_job_switches_total', help: 'Work assignments taken', registers: [registry] }),
    switchLatency: new Histogram({
      name: 'hashgrid_node_job_switch_seconds',
      help: 'New work received → every lane hashing it',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    busErrors: busErrorCounter(registry),
  };
}
export type NodeMetrics = ReturnType<typeof nodeMetrics>;

/** Serves `registry` at http://host:port/metrics (port 0 = any free port). */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((e: Error) => res.writeHead(500).end(e.message));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://${host}:${address.port}/metrics` };
}

/** What a distribution center exposes, read when /metrics is scraped. */
export interface CenterReadings {
  accepted: number;
  rejected: Record<string, number>;
  blocks: number;
  stratumConnections: number;
}

export function centerMetrics(registry: Registry, read: () => CenterReadings) {
  new Gauge({ name: 'hashgrid_center_shares_accepted', help: 'Accepted shares since the center started (replayed ones included)', registers: [registry], collect() { this.set(read().accepted); } });
  new Gauge({
    name: 'hashgrid_center_shares_rejected',
    help: 'Rejected shares since the center started, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(read().rejected)) this.set({ reason }, n);
    },
  });
  new Gauge({ name: 'hashgrid_center_blocks', help: 'Shares that were also block candidates', registers: [registry], collect() { this.set(read().blocks); } });
  new Gauge({ name: 'hashgrid_center_stratum_connections', help: 'Open Stratum connections', registers: [registry], collect() { this.set(read().stratumConnections); } });
  return { busErrors: busErrorCounter(registry) };
}

export function schedulerMetrics(registry: Registry) {
  return {
    decisions: new Counter({ name: 'hashgrid_scheduler_events_total', help: 'Scheduler decisions and transitions, by kind', labelNames: ['kind'], registers: [registry] }),
    upToStandard: new Gauge({ name: 'hashgrid_scheduler_up_to_standard', help: '1 when the sub-account is up to standard', labelNames: ['account'], registers: [registry] }),
    delivered: new Gauge({ name: 'hashgrid_scheduler_delivered_hashrate', help: 'Delivered H/s over the standard window, per sub-account', labelNames: ['account'], registers: [registry] }),
    forwarded: new Counter({ name: 'hashgrid_scheduler_shares_forwarded_total', help: 'Node shares by outcome: accepted or rejected by their center, or refused by the scheduler (never sent)', labelNames: ['outcome'], registers: [registry] }),
  };
}
export type SchedulerMetrics = ReturnType<typeof schedulerMetrics>;
