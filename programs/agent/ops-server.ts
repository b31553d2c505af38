/**
 * The agent's operations endpoint: `GET /healthz` (200 once the datapath is
 * programmed and both informers are connected, 503 with the reason before),
 * `GET /metrics` (Prometheus text). Nothing else is served.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from './errors.js';

/** Health as the agent sees it. */
export interface Health {
  readonly ok: boolean;
  /** Why not, when not ok. */
  readonly reason?: string;
}

/** A listening ops server. */
export interface OpsServer {
  /** `host:port` actually bound (port 0 picks one). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the ops server on `listen` (`HOST:PORT`, e.g. `127.0.0.1:9963` or `:0`). */
export async function startOpsServer(listen: string, health: () => Health, metrics: () => string): Promise<OpsServer> {
  const { host, port } = parseListen(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(h.ok ? 'ok\n' : `not ready: ${h.reason ?? 'unknown'}\n`);
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /healthz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new AgentError('AGENT_LISTEN', `ops server cannot listen on ${listen}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.address}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Splits `HOST:PORT` (`:PORT` means all addresses; `[::1]:PORT` for IPv6). */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new AgentError('AGENT_BAD_OPTION', `listen address '${listen}' is not HOST:PORT (e.g. 127.0.0.1:9963, :9963, [::1]:9963)`);
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port };
}
