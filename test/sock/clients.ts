/**
 * Client scripts the socket-LB tests run in the client namespace (inside the
 * test cgroup). Each is bounded (count and a wall-clock limit) and prints one
 * JSON line.
 */

/** One TCP connection's outcome. */
export interface TcpResult {
  readonly ok: boolean;
  /** What the backend sent (`backend <addr>`). */
  readonly data?: string;
  /** getpeername() of the connected socket. */
  readonly peer?: string;
  readonly code?: string;
}

/** argv: host port count → `TcpResult[]`, connections made one after another. */
export const TCP_CLIENT = `
const net = require('node:net');
const [host, port, count] = process.argv.slice(1);
const out = [];
const done = () => { process.stdout.write(JSON.stringify(out) + '\\n'); process.exit(0); };
setTimeout(done, 6000);
const one = () => {
  if (out.length >= Number(count)) return done();
  const c = net.connect({ host, port: Number(port) });
  let data = '', peer;
  c.on('connect', () => (peer = c.remoteAddress + ':' + c.remotePort));
  c.on('data', (d) => (data += d));
  c.on('end', () => { out.push({ ok: true, data, peer }); one(); });
  c.on('error', (e) => { out.push({ ok: false, code: e.code }); one(); });
};
one();
`;

/** One UDP exchange's outcome. */
export interface UdpResult {
  readonly ok: boolean;
  /** The reply's payload (`backend <addr> <sent>`). */
  readonly data?: string;
  /** Source address:port of the reply, as recvfrom() reported it. */
  readonly from?: string;
  /** getpeername() of a connected socket. */
  readonly peer?: string;
  readonly code?: string;
}

/**
 * argv: host port count mode(unconnected|connected) family(4|6) sockets(1|count)
 * → `UdpResult[]`: `count` request/reply exchanges on one socket (sockets=1) or
 * one fresh socket each.
 */
export const UDP_CLIENT = `
const dgram = require('node:dgram');
const [host, port, count, mode, family, perSocket] = process.argv.slice(1);
const out = [];
let sock;
const done = () => { process.stdout.write(JSON.stringify(out) + '\\n'); process.exit(0); };
setTimeout(done, 6000);
const open = (then) => {
  sock = dgram.createSocket(family === '6' ? 'udp6' : 'udp4');
  sock.on('error', (e) => { out.push({ ok: false, code: e.code }); sock.close(); next(); });
  if (mode === 'connected') sock.connect(Number(port), host, then); else sock.bind(0, then);
};
const exchange = () => {
  const i = out.length;
  const timer = setTimeout(() => { out.push({ ok: false, code: 'TIMEOUT' }); sock.removeAllListeners('message'); next(); }, 1000);
  sock.once('message', (m, r) => {
    clearTimeout(timer);
    let peer;
    if (mode === 'connected') { const p = sock.remoteAddress(); peer = p.address + ':' + p.port; }
    out.push({ ok: true, data: m.toString(), from: r.address + ':' + r.port, peer });
    next();
  });
  const msg = Buffer.from('ping-' + i);
  if (mode === 'connected') sock.send(msg); else sock.send(msg, Number(port), host);
};
const next = () => {
  if (out.length >= Number(count)) return done();
  if (perSocket === 'fresh') { try { sock.close(); } catch {} open(exchange); } else exchange();
};
open(exchange);
`;
