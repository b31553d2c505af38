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
  // A failed connect() is reported to its callback (not as an 'error' event).
  const connected = (err) => { if (err) { out.push({ ok: false, code: err.code }); next(); } else then(); };
  if (mode === 'connected') sock.connect(Number(port), host, connected); else sock.bind(0, then);
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
  const sent = (err) => {
    if (!err) return;
    clearTimeout(timer);
    sock.removeAllListeners('message');
    out.push({ ok: false, code: err.code });
    next();
  };
  if (mode === 'connected') sock.send(msg, sent); else sock.send(msg, Number(port), host, sent);
};
const next = () => {
  if (out.length >= Number(count)) return done();
  if (perSocket === 'fresh') { try { sock.close(); } catch {} open(exchange); } else exchange();
};
open(exchange);
`;

/** What {@link HOLD_CLIENT} reports once its socket has talked to the service. */
export interface HoldResult {
  readonly ok: boolean;
  readonly data?: string;
  readonly code?: string;
}

/**
 * argv: proto(tcp|udp) host port → one exchange over one socket, prints a
 * `HoldResult`, then keeps the socket open until stdin ends (bounded to 10 s).
 */
export const HOLD_CLIENT = `
const net = require('node:net');
const dgram = require('node:dgram');
const [proto, host, port] = process.argv.slice(1);
const report = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let sock;
const quit = () => { try { proto === 'tcp' ? sock.destroy() : sock.close(); } catch {} setTimeout(() => process.exit(0), 50); };
process.stdin.on('end', quit);
process.stdin.resume();
setTimeout(quit, 10000);
if (proto === 'tcp') {
  // Half-open: the backend closes its side after answering; this socket stays open until told.
  sock = net.connect({ host, port: Number(port), allowHalfOpen: true });
  sock.once('data', (d) => report({ ok: true, data: d.toString() }));
  sock.on('error', (e) => report({ ok: false, code: e.code }));
} else {
  sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.once('message', (m) => report({ ok: true, data: m.toString() }));
  sock.on('error', (e) => report({ ok: false, code: e.code }));
  sock.send(Buffer.from('hold'), Number(port), host);
}
`;

/**
 * argv: listenPort host port → listens on 127.0.0.1:listenPort (answering
 * `listener <port>`), connects to host:port once, prints a `TcpResult`.
 */
export const LISTEN_AND_CONNECT = `
const net = require('node:net');
const [listenPort, host, port] = process.argv.slice(1);
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); process.exit(0); };
setTimeout(() => out({ ok: false, code: 'TIMEOUT' }), 4000);
net.createServer((s) => s.end('listener ' + listenPort)).listen(Number(listenPort), '127.0.0.1', () => {
  const c = net.connect({ host, port: Number(port) });
  let data = '';
  c.on('data', (d) => (data += d));
  c.on('end', () => out({ ok: true, data, peer: c.remoteAddress + ':' + c.remotePort }));
  c.on('error', (e) => out({ ok: false, code: e.code }));
});
`;

/**
 * argv: family(4|6) → one unbound UDP socket; prints `{ "ready": true }`, then
 * for each stdin line `host port` sends one datagram from that socket and prints
 * the reply as a `UdpResult` (TIMEOUT after 1 s). Exits when stdin ends.
 */
export const UDP_STEPS = `
const dgram = require('node:dgram');
const readline = require('node:readline');
const [family] = process.argv.slice(1);
const sock = dgram.createSocket(family === '6' ? 'udp6' : 'udp4');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
setTimeout(() => process.exit(0), 12000);
sock.bind(0, () => say({ ok: true, data: 'ready' }));
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  const [host, port] = l.trim().split(' ');
  const timer = setTimeout(() => { sock.removeAllListeners('message'); say({ ok: false, code: 'TIMEOUT' }); }, 1000);
  sock.once('message', (m, r) => { clearTimeout(timer); say({ ok: true, data: m.toString(), from: r.address + ':' + r.port }); });
  sock.send(Buffer.from('step'), Number(port), host, (err) => { if (err) { clearTimeout(timer); sock.removeAllListeners('message'); say({ ok: false, code: err.code }); } });
});
rl.on('close', () => { sock.close(); process.exit(0); });
`;

/** What {@link CHURN_CLIENT} counted. */
export interface ChurnResult {
  readonly ok: number;
  /** Failed connections by errno code. */
  readonly failed: Record<string, number>;
  /** Answers by backend address. */
  readonly byBackend: Record<string, number>;
  readonly ms: number;
}

/**
 * argv: host port count concurrency → makes `count` TCP connections (request,
 * answer, close), `concurrency` at a time, and prints a `ChurnResult`. Bounded
 * to 20 s.
 */
export const CHURN_CLIENT = `
const net = require('node:net');
const [host, port, count, conc] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
const res = { ok: 0, failed: {}, byBackend: {}, ms: 0 };
const t0 = Date.now();
let started = 0, finished = 0;
const done = () => { res.ms = Date.now() - t0; process.stdout.write(JSON.stringify(res) + '\\n'); process.exit(0); };
setTimeout(() => { res.failed.UNFINISHED = count - finished; done(); }, 20000);
const one = () => {
  if (started >= count) return;
  started++;
  const c = net.connect({ host, port });
  let data = '';
  const end = (err) => {
    if (err) res.failed[err] = (res.failed[err] || 0) + 1;
    else { res.ok++; const b = data.split(' ')[1]; res.byBackend[b] = (res.byBackend[b] || 0) + 1; }
    if (++finished === count) return done();
    one();
  };
  c.on('data', (d) => (data += d));
  c.on('end', () => end(data.startsWith('backend ') ? undefined : 'EMPTY'));
  c.on('error', (e) => end(e.code));
};
for (let k = 0; k < conc; k++) one();
`;

/**
 * No argv; prints `{ "ok": true, "data": "ready" }`, then for each stdin line
 * `host port` makes one TCP connection and prints its `TcpResult` (TIMEOUT
 * after 2 s). Exits when stdin ends (bounded to 15 s).
 */
export const TCP_STEPS = `
const net = require('node:net');
const readline = require('node:readline');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
setTimeout(() => process.exit(0), 15000);
say({ ok: true, data: 'ready' });
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  const [host, port] = l.trim().split(' ');
  let data = '', peer, done = false;
  const finish = (o) => { if (!done) { done = true; clearTimeout(timer); say(o); } };
  const timer = setTimeout(() => { c.destroy(); finish({ ok: false, code: 'TIMEOUT' }); }, 2000);
  const c = net.connect({ host, port: Number(port) });
  c.on('connect', () => (peer = c.remoteAddress + ':' + c.remotePort));
  c.on('data', (d) => (data += d));
  c.on('end', () => finish({ ok: true, data, peer }));
  c.on('error', (e) => finish({ ok: false, code: e.code }));
});
rl.on('close', () => process.exit(0));
`;
