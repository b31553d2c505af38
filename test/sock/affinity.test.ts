/**
 * Session affinity (`sessionAffinity: ClientIP`) in the socket LB with real
 * sockets: a client (one network namespace) keeps its backend over new TCP
 * connections and new UDP sockets while the service's timeout runs since the
 * last use, services without the flag still spread, another namespace is
 * another client, an entry past its timeout (written old, or let run out) gives
 * a new pick, and a backend removed from or drained out of its slot is never
 * reused. The service tables are written directly with the schema codecs.
 *
 * The UDP checks are exact rather than statistical: without an affinity entry an
 * unconnected UDP socket gets the slot its cookie hashes to ({@link hashSlot},
 * checked against the socket's first pick), so an entry that is (not) honoured
 * shows as a datagram that does (not) go where the entry says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { TCP_CLIENT, TCP_STEPS, UDP_CLIENT, UDP_STEPS, type TcpResult, type UdpResult } from './clients.js';
import { dumpAffinity, dumpSockRevNat4, fillService, setSlot4, writeAffinity4, type AffinityRecord, type TestService } from './fill.js';
import { BACKEND_PORT, netnsCookie, openSockLab, type SockLab } from './lab.js';

/** The slot (1..count) pickSlot gives an unconnected UDP socket with `cookie` and no affinity entry. */
function hashSlot(cookie: bigint, count: number): number {
  const h = Number((BigInt.asUintN(32, cookie) * 0x9e3779b1n) & 0xffffffffn);
  return ((h ^ (h >>> 16)) >>> 0) % count + 1;
}

/** CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns (libuv's hrtime reads it). */
const monotonicNs = () => process.hrtime.bigint();
const SECOND = 1_000_000_000n;

const backendOf = (r: { data?: string }) => r.data?.split(' ')[1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!need({ kernel: true, tools: ['python3'] }))('socket LB: session affinity (6.6 build)', () => {
  let lab: SockLab;
  let all4: string[];
  let cookieA: bigint;
  const tcp = (address: string, revNatIndex: number, firstBackendId: number, affinitySeconds?: number): TestService => ({
    address, port: 80, proto: 'tcp', revNatIndex, firstBackendId, ...(affinitySeconds !== undefined ? { affinitySeconds } : {}),
    backends: all4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })),
  });
  const udp = (address: string, revNatIndex: number, firstBackendId: number, affinitySeconds?: number): TestService => ({
    address, port: 7000, proto: 'udp', revNatIndex, firstBackendId, ...(affinitySeconds !== undefined ? { affinitySeconds } : {}),
    backends: all4.map((a) => ({ address: a, port: BACKEND_PORT.udp })),
  });
  let svc: Record<'tcpPlain' | 'tcpSticky' | 'tcpAged' | 'udpPlain' | 'udpSticky' | 'udpAged' | 'udpShort' | 'udpMoved' | 'tcpMoved', TestService>;
  const tcp6Plain = (lab: SockLab): TestService => ({ address: 'fd00:96::80', port: 80, proto: 'tcp', revNatIndex: 20, firstBackendId: 200, backends: lab.backends6.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
  const tcp6Sticky = (lab: SockLab): TestService => ({ ...tcp6Plain(lab), address: 'fd00:96::81', revNatIndex: 21, firstBackendId: 210, affinitySeconds: 3600 });

  beforeAll(async () => {
    lab = await openSockLab({ subnet: 73, target: '6.6', extraBackends4: 2 });
    all4 = [...lab.backends4, ...lab.extra4];
    svc = {
      tcpPlain: tcp('10.96.0.80', 1, 10),
      tcpSticky: tcp('10.96.0.81', 2, 20, 3600),
      udpPlain: udp('10.96.0.82', 3, 30),
      udpSticky: udp('10.96.0.83', 4, 40, 3600),
      udpAged: udp('10.96.0.84', 5, 50, 30),
      udpShort: udp('10.96.0.85', 6, 60, 1),
      udpMoved: udp('10.96.0.86', 7, 70, 3600),
      tcpMoved: tcp('10.96.0.87', 8, 80, 3600),
      tcpAged: tcp('10.96.0.88', 9, 90, 10),
    };
    for (const s of Object.values(svc)) fillService(lab.obj, s);
    fillService(lab.obj, tcp6Plain(lab));
    fillService(lab.obj, tcp6Sticky(lab));
    cookieA = netnsCookie(lab.net.a);
  });
  afterAll(() => {
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  const entriesOf = (s: TestService, family: 4 | 6 = 4) => dumpAffinity(lab.obj, family).filter((e) => e.revNatIndex === s.revNatIndex);
  const entryOf = (s: TestService, cookie = cookieA): AffinityRecord => {
    const e = entriesOf(s).filter((x) => x.netnsCookie === cookie);
    expect(e).toHaveLength(1);
    return e[0]!;
  };
  /** Points this client's entry for `s` at `slot` (the backend the table has there), last used `agoNs` before now. */
  const pin = (s: TestService, slot: number, agoNs = 0n) =>
    writeAffinity4(lab.obj, { netnsCookie: cookieA, client: '0.0.0.0', revNatIndex: s.revNatIndex, lastUsed: monotonicNs() - agoNs, backendId: s.firstBackendId! + slot - 1, slot });
  /** The cookie of the one socket that has talked to `s` (its socket reverse-NAT entries). */
  const socketCookieOf = (s: TestService): bigint => {
    const cookies = new Set(dumpSockRevNat4(lab.obj).filter((e) => e.frontend === `${s.address}:${s.port}`).map((e) => e.cookie));
    expect(cookies.size).toBe(1);
    return [...cookies][0]!;
  };

  it('TCP: without affinity connects spread; with it every connect of one client reaches one backend, recorded under its netns cookie', async () => {
    const plain = await lab.client<TcpResult[]>(TCP_CLIENT, [svc.tcpPlain.address, 80, 40]);
    expect(plain.filter((x) => !x.ok)).toEqual([]);
    // Random per connect: fewer than 3 of 4 backends in 40 draws has p < 1e-10.
    expect(new Set(plain.map(backendOf)).size).toBeGreaterThanOrEqual(3);
    expect(entriesOf(svc.tcpPlain)).toEqual([]);

    const t0 = monotonicNs();
    const sticky = await lab.client<TcpResult[]>(TCP_CLIENT, [svc.tcpSticky.address, 80, 40]);
    const t1 = monotonicNs();
    expect(sticky.filter((x) => !x.ok)).toHaveLength(0);
    expect(sticky).toHaveLength(40);
    const reached = new Set(sticky.map(backendOf));
    expect(reached.size).toBe(1);
    const x = [...reached][0]!;
    expect(new Set(sticky.map((r) => r.peer))).toEqual(new Set([`${svc.tcpSticky.address}:80`]));
    const slot = all4.indexOf(x) + 1;
    expect(slot).toBeGreaterThan(0);
    const e = entryOf(svc.tcpSticky);
    expect(e).toMatchObject({ client: '0.0.0.0', slot, backendId: svc.tcpSticky.firstBackendId! + slot - 1 });
    // Refreshed by every connect: the last one was during the client run.
    expect(e.lastUsed > t0 && e.lastUsed < t1).toBe(true);
  });

  it('another namespace is another client, with its own entry; the first client keeps its backend', async () => {
    const before = entryOf(svc.tcpSticky);
    // The backend namespace is in the cgroup too here; the backends are its own addresses.
    const r = await runInCgroup(lab.cgroup.path, [process.execPath, '-e', TCP_CLIENT, svc.tcpSticky.address, '80', '10'], { netns: lab.net.b, timeoutMs: 8000 });
    const other = JSON.parse(r.stdout.trim().split('\n').pop()!) as TcpResult[];
    expect(other.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(other.map(backendOf)).size).toBe(1);
    const cookieB = netnsCookie(lab.net.b);
    expect(cookieB).not.toBe(cookieA);
    expect(entryOf(svc.tcpSticky, cookieB).slot).toBe(all4.indexOf(backendOf(other[0]!)!) + 1);
    expect(entryOf(svc.tcpSticky).slot).toBe(before.slot);
    const again = await lab.client<TcpResult[]>(TCP_CLIENT, [svc.tcpSticky.address, 80, 5]);
    expect(new Set(again.map(backendOf))).toEqual(new Set([all4[before.slot - 1]]));
  });

  it('UDP: fresh sockets spread without affinity; with it every new socket (sendto or connected) reaches one backend', async () => {
    const plain = await lab.client<UdpResult[]>(UDP_CLIENT, [svc.udpPlain.address, 7000, 20, 'unconnected', 4, 'fresh']);
    expect(plain.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(plain.map(backendOf)).size).toBeGreaterThanOrEqual(2);

    const sticky = await lab.client<UdpResult[]>(UDP_CLIENT, [svc.udpSticky.address, 7000, 20, 'unconnected', 4, 'fresh']);
    expect(sticky.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(sticky.map((r) => r.from))).toEqual(new Set([`${svc.udpSticky.address}:7000`]));
    const reached = new Set(sticky.map(backendOf));
    expect(reached.size).toBe(1);
    const connected = await lab.client<UdpResult[]>(UDP_CLIENT, [svc.udpSticky.address, 7000, 10, 'connected', 4, 'fresh']);
    expect(connected.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(connected.map(backendOf))).toEqual(reached);
    expect(all4[entryOf(svc.udpSticky).slot - 1]).toBe([...reached][0]);
  });

  it('IPv6 uses lb6_affinity; an IPv6 socket dialling the IPv4-mapped VIP shares the IPv4 entry', async () => {
    const plain = await lab.client<TcpResult[]>(TCP_CLIENT, [tcp6Plain(lab).address, 80, 20]);
    expect(new Set(plain.map(backendOf))).toEqual(new Set(lab.backends6));
    const sticky = await lab.client<TcpResult[]>(TCP_CLIENT, [tcp6Sticky(lab).address, 80, 20]);
    expect(sticky.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(sticky.map(backendOf)).size).toBe(1);
    const e6 = dumpAffinity(lab.obj, 6).filter((e) => e.revNatIndex === 21);
    expect(e6.map((e) => [e.netnsCookie, e.client, lab.backends6[e.slot - 1]])).toEqual([[cookieA, '::', backendOf(sticky[0]!)]]);

    const v4 = all4[entryOf(svc.tcpSticky).slot - 1];
    const mapped = await lab.client<TcpResult[]>(TCP_CLIENT, [`::ffff:${svc.tcpSticky.address}`, 80, 10]);
    expect(mapped.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(mapped.map(backendOf))).toEqual(new Set([v4]));
  });

  it('an entry made older than the timeout is ignored (a new pick), one just younger is honoured', async () => {
    const s = svc.udpAged; // 30 s timeout
    expect(monotonicNs()).toBeGreaterThan(40n * SECOND);
    const sock = await lab.start<UdpResult>(UDP_STEPS, [4]);
    try {
      const ask = async () => backendOf(await sock.ask(`${s.address} ${s.port}`));
      const first = await ask();
      const h = hashSlot(socketCookieOf(s), 4);
      // No entry yet: the socket's own hash pick (which the checks below rely on).
      expect(first).toBe(all4[h - 1]);
      const other = (h % 4) + 1;
      pin(s, other, 25n * SECOND);
      expect(await ask()).toBe(all4[other - 1]);
      pin(s, other, 35n * SECOND);
      expect(await ask()).toBe(all4[h - 1]);
      expect(entryOf(s)).toMatchObject({ slot: h, backendId: s.firstBackendId! + h - 1 });
    } finally {
      await sock.end();
    }
  });

  it('TCP: each time the entry is made old, the next connect is a new random pick', async () => {
    const s = svc.tcpAged; // 10 s timeout
    expect(monotonicNs()).toBeGreaterThan(20n * SECOND);
    const steps = await lab.start<TcpResult>(TCP_STEPS, []);
    try {
      const ask = async () => {
        const r = await steps.ask(`${s.address} 80`);
        expect(r.ok).toBe(true);
        return backendOf(r)!;
      };
      const first = await ask();
      // Just inside the timeout the entry holds.
      writeAffinity4(lab.obj, { ...entryOf(s), lastUsed: monotonicNs() - 9n * SECOND });
      expect(await ask()).toBe(first);
      const seen: string[] = [];
      for (let k = 0; k < 12; k++) {
        const t = monotonicNs();
        writeAffinity4(lab.obj, { ...entryOf(s), lastUsed: t - 11n * SECOND });
        seen.push(await ask());
        // The new pick is remembered, from now.
        expect(all4[entryOf(s).slot - 1]).toBe(seen[k]);
        expect(entryOf(s).lastUsed).toBeGreaterThan(t);
      }
      // Twelve picks all equal to the first would have p = 4^-11.
      expect(new Set(seen).size).toBeGreaterThanOrEqual(2);
    } finally {
      await steps.end();
    }
  });

  it('the timeout runs from the last use: a 1 s timeout holds across uses 0.6 s apart and expires after 1.2 s idle', async () => {
    const s = svc.udpShort;
    const sock = await lab.start<UdpResult>(UDP_STEPS, [4]);
    try {
      const ask = async () => backendOf(await sock.ask(`${s.address} ${s.port}`));
      await ask();
      const h = hashSlot(socketCookieOf(s), 4);
      const other = (h % 4) + 1;
      pin(s, other);
      expect(await ask()).toBe(all4[other - 1]);
      await sleep(600);
      expect(await ask()).toBe(all4[other - 1]);
      await sleep(600);
      // 1.2 s after the entry was written, 0.6 s after its last use.
      expect(await ask()).toBe(all4[other - 1]);
      await sleep(1200);
      expect(await ask()).toBe(all4[h - 1]);
      expect(entryOf(s).slot).toBe(h);
    } finally {
      await sock.end();
    }
  });

  it('a backend removed from its slot (slot rewritten) or drained (slot beyond count) is never reused', async () => {
    const s = svc.udpMoved;
    const sock = await lab.start<UdpResult>(UDP_STEPS, [4]);
    try {
      const ask = async () => backendOf(await sock.ask(`${s.address} ${s.port}`));
      await ask();
      const cookie = socketCookieOf(s);
      const h3 = hashSlot(cookie, 3);
      const slot = h3 === 1 ? 2 : 1;
      const removed = all4[slot - 1];
      pin(s, slot);
      expect(await ask()).toBe(removed);
      // Remove the backend of `slot` as the manager does: the last slot's backend moves in, the count drops.
      setSlot4(lab.obj, s, slot, s.firstBackendId! + 3, 3);
      // The entry still names `slot`, which now holds another backend: a new pick (the hash over 3 slots).
      expect(await ask()).toBe(all4[h3 - 1]);
      expect(entryOf(s)).toMatchObject({ slot: h3, backendId: s.firstBackendId! + h3 - 1 });
      // Slot 4 still names its old backend but is past the count (draining): not reused either.
      pin(s, 4);
      expect(await ask()).toBe(all4[h3 - 1]);
      expect(entryOf(s).slot).toBe(h3);
    } finally {
      await sock.end();
    }
  });

  it('TCP: when the client\'s backend is removed it moves to another one and stays there', async () => {
    const s = svc.tcpMoved;
    const before = await lab.client<TcpResult[]>(TCP_CLIENT, [s.address, 80, 10]);
    expect(new Set(before.map(backendOf)).size).toBe(1);
    const gone = backendOf(before[0]!)!;
    const slot = all4.indexOf(gone) + 1;
    // The last slot's backend takes the removed one's slot (unless it was the last), the count drops to 3.
    if (slot !== 4) setSlot4(lab.obj, s, slot, s.firstBackendId! + 3, 3);
    else setSlot4(lab.obj, s, 3, s.firstBackendId! + 2, 3);
    const after = await lab.client<TcpResult[]>(TCP_CLIENT, [s.address, 80, 20]);
    expect(after.filter((x) => !x.ok)).toEqual([]);
    const now = new Set(after.map(backendOf));
    expect(now.size).toBe(1);
    expect(now.has(gone)).toBe(false);
  });
});

describe.skipIf(!need({ kernel: true }))('socket LB: session affinity in the 5.10 build (no bpf_set_retval; the oldest with bpf_get_netns_cookie)', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 74, target: '5.10', extraBackends4: 2 });
    const all = [...lab.backends4, ...lab.extra4];
    fillService(lab.obj, { address: '10.96.0.90', port: 80, proto: 'tcp', revNatIndex: 1, affinitySeconds: 60, backends: all.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    fillService(lab.obj, { address: '10.96.0.90', port: 7000, proto: 'udp', revNatIndex: 2, firstBackendId: 10, affinitySeconds: 60, backends: all.map((a) => ({ address: a, port: BACKEND_PORT.udp })) });
  });
  afterAll(() => lab?.close());

  it('TCP connects and fresh UDP sockets of one client each stay on one backend', async () => {
    expect(lab.lb.limitations).toEqual([]);
    const t = await lab.client<TcpResult[]>(TCP_CLIENT, ['10.96.0.90', 80, 20]);
    expect(t.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(t.map(backendOf)).size).toBe(1);
    const u = await lab.client<UdpResult[]>(UDP_CLIENT, ['10.96.0.90', 7000, 15, 'unconnected', 4, 'fresh']);
    expect(u.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(u.map(backendOf)).size).toBe(1);
    expect(dumpAffinity(lab.obj).map((e) => e.revNatIndex).sort()).toEqual([1, 2]);
  });
});
