/**
 * An echo backend for a pod namespace: a small Node child that answers every
 * TCP connection with `<id> <first request chunk>` and closes, and every UDP
 * datagram with `<id> <payload>` to its sender. It counts what it served and
 * reports the counts when stopped. Bounded: it exits by itself after
 * `lifetimeMs`.
 */
import { startServer, type LabChild } from './child.js';
import { LabError } from './errors.js';

const SERVER = `
const net = require('node:net');
const dgram = require('node:dgram');
const [id, tcpPort, udpPort, host, lifetimeMs] = process.argv.slice(1);
const counts = { tcp: 0, udp: 0 };
const report = () => { process.stdout.write('counts ' + JSON.stringify(counts) + '\\n'); process.exit(0); };
process.on('SIGTERM', report);
setTimeout(report, Number(lifetimeMs)).unref();
let pending = 0;
const up = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
const v6 = host.includes(':');
if (Number(tcpPort) > 0) {
  pending++;
  net.createServer((s) => {
    counts.tcp++;
    s.once('data', (d) => s.end(id + ' ' + d.toString('latin1')));
    s.on('error', () => {});
    s.setTimeout(2000, () => s.destroy());
  }).listen(Number(tcpPort), host, up);
}
if (Number(udpPort) > 0) {
  pending++;
  const u = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  u.on('message', (m, r) => { counts.udp++; u.send(id + ' ' + m.toString('latin1'), r.port, r.address); });
  u.bind(Number(udpPort), host, up);
}
`;

/** Options of {@link startEchoServer}. */
export interface EchoServerOptions {
  /** Namespace the server runs in. */
  readonly netns: string;
  /** Name the server puts first in every reply, so clients see which backend answered. */
  readonly id: string;
  /** TCP port (omit for none). */
  readonly tcpPort?: number;
  /** UDP port (omit for none). */
  readonly udpPort?: number;
  /** Address to listen on (default `0.0.0.0`; `::` for IPv6 and IPv4). */
  readonly host?: string;
  /** The server exits by itself after this long (default 60 s). */
  readonly lifetimeMs?: number;
}

/** What an echo server served, from its report when stopped. */
export interface EchoCounts {
  readonly tcp: number;
  readonly udp: number;
}

/** A running echo server. */
export interface EchoServer {
  readonly child: LabChild;
  /** Stops the server (by PID) and returns how many TCP connections and UDP datagrams it answered. */
  stop(): Promise<EchoCounts>;
}

/** Starts an echo server in `netns` and waits until it listens. */
export async function startEchoServer(o: EchoServerOptions): Promise<EchoServer> {
  if (o.tcpPort === undefined && o.udpPort === undefined) throw new LabError('LAB_INPUT', 'echo server: give tcpPort, udpPort or both');
  if (!/^[A-Za-z0-9_.:-]{1,40}$/.test(o.id)) throw new LabError('LAB_INPUT', `echo server id ${JSON.stringify(o.id)}: 1–40 of [A-Za-z0-9_.:-]`);
  const lifetimeMs = o.lifetimeMs ?? 60_000;
  const argv = [process.execPath, '-e', SERVER, o.id, String(o.tcpPort ?? 0), String(o.udpPort ?? 0), o.host ?? '0.0.0.0', String(lifetimeMs)];
  const child = await startServer(argv, { netns: o.netns, timeoutMs: lifetimeMs + 5000 });
  return {
    child,
    async stop() {
      child.stop('SIGTERM');
      const r = await child.done;
      const line = r.stdout.split('\n').find((l) => l.startsWith('counts '));
      if (!line) throw new LabError('LAB_CHILD', `echo server ${o.id} gave no counts (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
      return JSON.parse(line.slice('counts '.length)) as EchoCounts;
    },
  };
}
