/**
 * Atomic replacement under live traffic: while a bounded stream of packets (or
 * connects) runs, the attached program is swapped. Every packet must have been
 * handled by the old or the new program — none passes untouched, which is what a
 * detach-then-attach would let through — and the switch happens exactly once.
 */
import { describe, expect, it } from 'vitest';
import { attachCgroup, attachTcNetlink, attachTcx, type Attachment } from '../../loader/links/index.js';
import type { Fd } from '../../loader/sys/fd.js';
import { createTestCgroup, runInCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { createNetns, createNetnsPair, deleteNetns, udpExchange } from '../support/netns.js';
import { connect4Program, createCounter, readCounter, tcProgram } from './links-fixtures.js';

const ok = need({ kernel: true, tools: ['ip'] });
const PORT = 7501;

/** Resolves once the counter reaches `n` (polled), or rejects after `ms`. */
function whenCounter(counter: Fd, n: bigint, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (readCounter(counter) >= n) return resolve();
      if (Date.now() > deadline) return reject(new Error(`counter stayed below ${n}`));
      setTimeout(tick, 2);
    };
    tick();
  });
}

describe.skipIf(!ok)('atomic replace under traffic', () => {
  for (const mode of ['tcx', 'netlink'] as const) {
    it(`tc via ${mode}: every packet is rewritten by the old or the new program, switching once`, async () => {
      const net = createNetnsPair(51);
      const counter = createCounter();
      const progX = tcProgram(counter, PORT, { rewrite: 'X' });
      const progY = tcProgram(counter, PORT, { rewrite: 'Y' });
      let att: Attachment | undefined;
      try {
        const target = { iface: net.vethA, netns: net.a, direction: 'egress' as const };
        att = mode === 'tcx' ? attachTcx(progX, target) : attachTcNetlink(progX, target);
        const traffic = udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 400, timeoutMs: 15_000 });
        await whenCounter(counter, 100n);
        att.replace(progY, { expected: progX });
        const got = await traffic;
        expect(got.length).toBe(400);
        const bySeq = got.map((p) => ({ seq: Number(p.split('-')[1]), first: p[0] })).sort((a, b) => a.seq - b.seq);
        const firsts = bySeq.map((p) => p.first).join('');
        // XXX…XYYY…Y: no untouched 'h', exactly one switch.
        expect(firsts).toMatch(/^X{100,}Y+$/);
        expect(readCounter(counter)).toBe(400n);
      } finally {
        att?.detach();
        progX.close();
        progY.close();
        counter.close();
        net.cleanup();
      }
    });
  }

  const CONNECT_LOOP = `
const net = require('node:net');
const [count, host, port] = process.argv.slice(1);
const seen = [];
const servers = [7601, 7602].map((p) => net.createServer((s) => s.end(String(p))).listen(p, '127.0.0.1'));
let i = 0;
const next = () => {
  if (i++ >= Number(count)) { console.log(JSON.stringify(seen)); process.exit(0); }
  const c = net.connect({ host, port: Number(port) });
  let d = '';
  c.on('data', (x) => (d += x));
  c.on('end', () => { seen.push(d); setTimeout(next, 1); });
  c.on('error', (e) => { seen.push(e.code); setTimeout(next, 1); });
};
setTimeout(next, 50);
setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(0); }, 10000);
`;

  for (const mode of ['link', 'legacy'] as const) {
    it(`cgroup connect4 via ${mode}: every connect() is redirected by the old or the new program`, async () => {
      const cg = createTestCgroup();
      const ns = createNetns('rp');
      const counter = createCounter();
      const toA = connect4Program(counter, { ip: '10.200.0.99', port: 80 }, { ip: '127.0.0.1', port: 7601 });
      const toB = connect4Program(counter, { ip: '10.200.0.99', port: 80 }, { ip: '127.0.0.1', port: 7602 });
      let att: Attachment | undefined;
      try {
        att = attachCgroup(toA, { hook: 'connect4', cgroup: cg.path, mode });
        const loop = runInCgroup(cg.path, [process.execPath, '-e', CONNECT_LOOP, '200', '10.200.0.99', '80'], { netns: ns, timeoutMs: 15_000 });
        await whenCounter(counter, 50n);
        att.replace(toB, { expected: toA });
        const r = await loop;
        const seen = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
        expect(seen).toHaveLength(200);
        expect(seen.join(',')).toMatch(/^(7601,){50,}(7602,)*7602$/);
      } finally {
        att?.detach();
        toA.close();
        toB.close();
        counter.close();
        deleteNetns(ns);
        cg.cleanup();
      }
    });
  }
});
