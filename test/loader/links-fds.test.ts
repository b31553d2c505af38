/**
 * Resource discipline of the attach layer: hundreds of attach/replace/detach
 * cycles through every mechanism leave the process's fd count where it started
 * and nothing attached in the kernel.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  attachCgroup,
  attachTcNetlink,
  attachTcx,
  attachXdpLink,
  attachXdpNetlink,
  BpfLink,
  listTcFilters,
  queryCgroup,
  queryTcx,
  queryXdp,
} from '../../loader/links/index.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { createNetnsPair } from '../support/netns.js';
import { allowProgram, createCounter, tcProgram, xdpProgram } from './links-fixtures.js';

const ok = need({ kernel: true, tools: ['ip'] });
const CYCLES = 100;

const openFds = () => readdirSync('/proc/self/fd').length;

describe.skipIf(!ok)('attach fd discipline', () => {
  it(`${CYCLES} cycles × every mechanism: fd count returns to baseline, nothing left attached`, () => {
    const net = createNetnsPair(61);
    const cg = createTestCgroup();
    const pins = createPinDir();
    const counter = createCounter();
    const tcA = tcProgram(counter, 1, 'drop');
    const tcB = tcProgram(counter, 2, 'drop');
    const xdpA = xdpProgram(counter, 1, 'pass');
    const xdpB = xdpProgram(counter, 2, 'pass');
    const connA = allowProgram('CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT');
    const connB = allowProgram('CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT');
    const iface = { iface: net.vethA, netns: net.a };
    // One XDP program per interface and mode family: the netlink one goes on the peer.
    const ifaceB = { iface: net.vethB, netns: net.b };
    try {
      // Warm up lazily loaded modules and caches before taking the baseline.
      attachTcx(tcA, { ...iface, direction: 'ingress' }).detach();
      const base = openFds();
      for (let i = 0; i < CYCLES; i++) {
        const links = [
          attachCgroup(connA, { hook: 'connect4', cgroup: cg.path, mode: 'link' }),
          attachTcx(tcA, { ...iface, direction: 'ingress' }),
          attachXdpLink(xdpA, { ...iface, xdpMode: 'generic' }),
        ];
        const others = [
          attachCgroup(connA, { hook: 'connect4', cgroup: cg.path, mode: 'legacy' }),
          attachTcNetlink(tcA, { ...iface, direction: 'egress' }),
          attachXdpNetlink(xdpA, { ...ifaceB, xdpMode: 'generic' }),
        ];
        links[1]!.replace(tcB, { expected: tcA });
        others[1]!.replace(tcB, { expected: tcA });
        others[2]!.replace(xdpB, { expected: xdpA });
        others[0]!.replace(connB, { expected: connA });
        if (i % 10 === 0) {
          const pin = `${pins.path}/l${i}`;
          (links[0] as BpfLink).pin(pin);
          BpfLink.open(pin).close();
        }
        for (const a of [...links, ...others]) a.detach();
      }
      expect(openFds()).toBe(base);
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
      expect(queryTcx(iface, 'ingress').progIds).toEqual([]);
      expect(listTcFilters(iface, 'egress')).toEqual([]);
      expect(queryXdp(iface).mode).toBe('none');
      expect(queryXdp(ifaceB).mode).toBe('none');
      expect(readdirSync(pins.path).filter((n) => /^l\d+$/.test(n))).toEqual([]);
    } finally {
      for (const p of [tcA, tcB, xdpA, xdpB, connA, connB, counter]) p.close();
      pins.cleanup();
      cg.cleanup();
      net.cleanup();
    }
  }, 180_000);
  it('500 load → attach → close cycles (rotating mechanisms) keep the fd count flat', () => {
    const net = createNetnsPair(62);
    const cg = createTestCgroup();
    const counter = createCounter();
    const iface = { iface: net.vethA, netns: net.a };
    try {
      const cycle = (i: number) => {
        const kind = i % 6;
        const prog =
          kind < 2 ? allowProgram('CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT') : kind < 4 ? tcProgram(counter, 1, 'drop') : xdpProgram(counter, 1, 'pass');
        try {
          const att =
            kind === 0
              ? attachCgroup(prog, { hook: 'connect4', cgroup: cg.path, mode: 'link' })
              : kind === 1
                ? attachCgroup(prog, { hook: 'connect4', cgroup: cg.path, mode: 'legacy' })
                : kind === 2
                  ? attachTcx(prog, { ...iface, direction: 'egress' })
                  : kind === 3
                    ? attachTcNetlink(prog, { ...iface, direction: 'ingress' })
                    : kind === 4
                      ? attachXdpLink(prog, { ...iface, xdpMode: 'generic' })
                      : attachXdpNetlink(prog, { ...iface, xdpMode: 'generic' });
          // Links go away with their last fd; the others need an explicit detach.
          if (att instanceof BpfLink) att.close();
          else att.detach();
        } finally {
          prog.close();
        }
      };
      for (let i = 0; i < 6; i++) cycle(i); // warm-up
      const base = openFds();
      for (let i = 0; i < 500; i++) cycle(i);
      expect(openFds()).toBe(base);
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
      expect(queryTcx(iface, 'egress').progIds).toEqual([]);
      expect(listTcFilters(iface, 'ingress')).toEqual([]);
      expect(queryXdp(iface).mode).toBe('none');
    } finally {
      counter.close();
      cg.cleanup();
      net.cleanup();
    }
  }, 180_000);
});
