/**
 * The deploy lifecycle (programs/lb/deploy.ts) against the real kernel, on a
 * test cgroup and a private bpffs: `lbUp` attaches through pinned links and pins
 * the maps by name; a second `lbUp` swaps the programs in the same links and
 * reuses the maps with their entries; `lbDown` detaches and keeps the maps;
 * `purge` removes them (also at a bpffs mount root); a wrong pin directory or cgroup is refused before
 * anything is loaded. By default it deploys the whole socket LB and writes the
 * node's addresses.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/maps/index.js';
import { queryCgroup } from '../../loader/links/index.js';
import { DeployError, lbDown, lbStatus, lbUp } from '../../programs/lb/deploy.js';
import { ipv4, ipv6, u8 } from '../../dsl/types/index.js';
import { ServiceEntry, ServiceKey4 } from '../../programs/lb/schemas.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { fixtureConnect4, fixtureGetpeername4 } from './fixture-programs.js';

const programs = [fixtureConnect4, fixtureGetpeername4];
const frontend = { address: '10.96.0.10', port: 80, backendSlot: 0, proto: 6, scope: 0 };

/** Program ids attached at a hook of the cgroup. */
function attached(cgroup: string, hook: string): number[] {
  return queryCgroup(cgroup, hook).progIds;
}

describe('lb deploy lifecycle', () => {
  it.skipIf(!need({ kernel: true }))('up attaches through pinned links; up again replaces in place and reuses the maps; down keeps them; purge removes them', () => {
    using pins = createPinDir('lbdeploy');
    using cg = createTestCgroup('lbdeploy');
    const pinDir = join(pins.path, 'lb');
    try {
      const first = lbUp({ programs, cgroup: cg.path, pinDir });
      expect(first.programs.map((p) => [p.hook, p.action])).toEqual([['connect4', 'attached'], ['getpeername4', 'attached']]);
      expect(first.maps.map((m) => [m.name, m.origin])).toEqual([['lb4_services', 'created'], ['lb4_backends', 'created']]);
      expect(attached(cg.path, 'connect4')).toEqual([first.programs[0]!.progId]);
      expect(readdirSync(join(pinDir, 'links')).sort()).toEqual(['connect4', 'getpeername4']);
      // The process holds no fd any more: the pins keep the links.
      expect(lbStatus(pinDir).map((s) => [s.hook, s.progId])).toEqual(first.programs.map((p) => [p.hook, p.progId]));

      // A service written into the pinned table.
      {
        using svc = BpfMap.fromPin(join(pinDir, 'lb4_services'), { key: ServiceKey4, value: ServiceEntry });
        svc.set(frontend, { backendId: 0, count: 1, revNatIndex: 7, flags: 0, flags2: 0 });
      }

      const second = lbUp({ programs, cgroup: cg.path, pinDir });
      expect(second.programs.map((p) => p.action)).toEqual(['replaced', 'replaced']);
      expect(second.programs.map((p) => p.linkId)).toEqual(first.programs.map((p) => p.linkId));
      expect(second.programs[0]!.progId).not.toBe(first.programs[0]!.progId);
      expect(attached(cg.path, 'connect4')).toEqual([second.programs[0]!.progId]);
      expect(second.maps.map((m) => m.origin)).toEqual(['reused', 'reused']);

      // Dropping a hook from the set detaches it.
      const third = lbUp({ programs: [fixtureConnect4], cgroup: cg.path, pinDir });
      expect(third.detached).toEqual(['getpeername4']);
      expect(attached(cg.path, 'getpeername4')).toEqual([]);

      const down = lbDown({ pinDir });
      expect(down).toMatchObject({ detached: ['connect4'], removedMaps: [] });
      expect(attached(cg.path, 'connect4')).toEqual([]);
      expect(existsSync(join(pinDir, 'links'))).toBe(false);
      {
        using svc = BpfMap.fromPin(join(pinDir, 'lb4_services'), { key: ServiceKey4, value: ServiceEntry });
        expect(svc.get(frontend)).toMatchObject({ count: 1, revNatIndex: 7 });
      }
      // Down when not up: nothing to do, not an error.
      expect(lbDown({ pinDir }).detached).toEqual([]);

      const again = lbUp({ programs, cgroup: cg.path, pinDir });
      expect(again.programs.map((p) => p.action)).toEqual(['attached', 'attached']);
      expect(again.maps.map((m) => m.origin)).toEqual(['reused', 'reused']);

      const purged = lbDown({ pinDir, purge: true });
      expect(purged.detached).toEqual(['connect4', 'getpeername4']);
      expect([...purged.removedMaps].sort()).toEqual(['lb4_backends', 'lb4_services']);
      expect(existsSync(pinDir)).toBe(false);
      expect(attached(cg.path, 'connect4')).toEqual([]);
    } finally {
      try {
        lbDown({ pinDir, purge: true });
      } catch {
        // The pin dir may already be gone with the bpffs.
      }
    }
  });

  it.skipIf(!need({ kernel: true }))('purge with the pin directory at the root of a bpffs mount: removes every pin, keeps the mount and the kernel\'s own files', () => {
    using pins = createPinDir('lbroot');
    using cg = createTestCgroup('lbroot');
    const pinDir = pins.path;
    const kernelFiles = readdirSync(pinDir).sort(); // maps.debug, progs.debug where bpf_preload is built in
    try {
      lbUp({ programs, cgroup: cg.path, pinDir });
      const purged = lbDown({ pinDir, purge: true });
      expect(purged.detached).toEqual(['connect4', 'getpeername4']);
      expect([...purged.removedMaps].sort()).toEqual(['lb4_backends', 'lb4_services']);
      expect(readdirSync(pinDir).sort()).toEqual(kernelFiles);
      expect(attached(cg.path, 'connect4')).toEqual([]);
    } finally {
      lbDown({ pinDir, purge: true });
    }
  });

  it.skipIf(!need({ kernel: true }))('refuses a pin directory off bpffs (saying how to mount one), a missing cgroup, and a second cgroup, without loading', () => {
    using pins = createPinDir('lbdeploy');
    using cg = createTestCgroup('lbdeploy');
    using other = createTestCgroup('lbdeploy2');
    const plain = mkdtempSync(join(tmpdir(), 'tsbpf-lb-plain-'));
    const pinDir = join(pins.path, 'lb');
    try {
      const notBpffs = (() => {
        try {
          lbUp({ programs, cgroup: cg.path, pinDir: join(plain, 'lb') });
        } catch (e) {
          return e;
        }
      })();
      expect(notBpffs).toBeInstanceOf(DeployError);
      expect(notBpffs).toMatchObject({ code: 'LB_NOT_BPFFS', message: expect.stringContaining('mount -t bpf bpf') });
      expect(existsSync(join(plain, 'lb'))).toBe(false);
      expect(attached(cg.path, 'connect4')).toEqual([]);

      expect(() => lbUp({ programs, cgroup: join(cg.path, 'nope'), pinDir })).toThrow(expect.objectContaining({ code: 'LB_BAD_CGROUP' }));
      expect(() => lbUp({ programs, cgroup: plain, pinDir })).toThrow(expect.objectContaining({ code: 'LB_BAD_CGROUP' }));
      expect(existsSync(pinDir)).toBe(false);

      lbUp({ programs, cgroup: cg.path, pinDir });
      expect(() => lbUp({ programs, cgroup: other.path, pinDir })).toThrow(expect.objectContaining({ code: 'LB_OTHER_CGROUP', message: expect.stringContaining('lb down') }));
      expect(attached(other.path, 'connect4')).toEqual([]);
      expect(attached(cg.path, 'connect4')).toHaveLength(1);
    } finally {
      try {
        lbDown({ pinDir, purge: true });
      } catch {
        // Already gone.
      }
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it.skipIf(!need({ kernel: true }))('the socket LB by default: every hook attached, node addresses written (and replaced on the next up), a bad one refused before loading', () => {
    using pins = createPinDir('lbdeploy');
    using cg = createTestCgroup('lbdeploy');
    const pinDir = join(pins.path, 'lb');
    const nodeAddrs = () => {
      using m4 = BpfMap.fromPin(join(pinDir, 'lb4_node_addrs'), { key: ipv4, value: u8 });
      using m6 = BpfMap.fromPin(join(pinDir, 'lb6_node_addrs'), { key: ipv6, value: u8 });
      return [...m4.keys(), ...m6.keys()].sort();
    };
    try {
      expect(() => lbUp({ cgroup: cg.path, pinDir, nodeAddresses: ['192.0.2.300'] })).toThrow(expect.objectContaining({ code: 'LB_BAD_NODE_ADDRESS' }));
      expect(existsSync(pinDir)).toBe(false);
      const up = lbUp({ cgroup: cg.path, pinDir, nodeAddresses: ['192.0.2.7', 'fd00::7'] });
      expect(up.programs.map((p) => p.hook).sort()).toEqual(['connect4', 'connect6', 'getpeername4', 'getpeername6', 'recvmsg4', 'recvmsg6', 'sendmsg4', 'sendmsg6', 'sock_release']);
      expect(up.omitted).toEqual([]);
      expect(up.limitations).toEqual([]);
      for (const p of up.programs) expect(attached(cg.path, p.hook)).toEqual([p.progId]);
      expect(nodeAddrs()).toEqual(['192.0.2.7', 'fd00::7']);
      expect(lbUp({ cgroup: cg.path, pinDir, nodeAddresses: ['192.0.2.8'] }).nodeAddresses).toEqual(['192.0.2.8']);
      expect(nodeAddrs()).toEqual(['192.0.2.8']);
      // Built for 5.4 (no bpf_get_netns_cookie in connect/sendmsg): up, and says what it cannot do.
      const old = lbUp({ cgroup: cg.path, pinDir, target: '5.4' });
      expect(old.limitations.map((l) => l.feature)).toEqual(['sessionAffinity']);
      expect(old.limitations[0]!.reason).toMatch(/bpf_get_netns_cookie/);
    } finally {
      try {
        lbDown({ pinDir, purge: true });
      } catch {
        // Gone with the bpffs.
      }
    }
  });
});
