/**
 * The socket-LB factory: builds for every profile from 4.19 on, leaves out (with
 * a note) the programs whose hooks a target lacks, honours the node settings,
 * builds deterministically, and rejects bad options with a SocketLbError.
 */
import { describe, expect, it } from 'vitest';
import { cgroupHook } from '../../loader/links/hooks.js';
import { compileSocketLb, localNodeAddresses, nodeAddressEntries, SocketLbError, socketLbPrograms, type SocketLbOptions } from '../../programs/sock/index.js';

const ALL = ['sock4_connect', 'sock6_connect', 'sock4_sendmsg', 'sock6_sendmsg', 'sock4_recvmsg', 'sock6_recvmsg', 'sock4_getpeer', 'sock6_getpeer', 'sock_release'];
const LEFT_OUT: Record<string, string[]> = {
  '4.19': ['sock4_recvmsg', 'sock6_recvmsg', 'sock4_getpeer', 'sock6_getpeer', 'sock_release'],
  '5.4': ['sock4_getpeer', 'sock6_getpeer', 'sock_release'],
  '5.10': [],
  '6.1': [],
  '6.6': [],
};

describe('socketLbPrograms / compileSocketLb', () => {
  for (const [target, omitted] of Object.entries(LEFT_OUT)) {
    it(`builds for ${target}, leaving out ${omitted.length ? omitted.join(', ') : 'nothing'}`, () => {
      const { lb, object, reports } = compileSocketLb({ target });
      expect(lb.omitted.map((o) => o.program)).toEqual(omitted);
      for (const o of lb.omitted) expect(o.reason).toMatch(new RegExp(`target ${target} .*has no CGROUP_\\w+ hook; `));
      expect(lb.attach.map((a) => a.program)).toEqual(ALL.filter((p) => !omitted.includes(p)));
      expect(object.programs.map((p) => p.name).sort()).toEqual(lb.attach.map((a) => a.program).sort());
      // Every attach entry names a hook the attach helper knows, of the program's own section.
      for (const a of lb.attach) expect(object.programs.find((p) => p.name === a.program)!.section).toBe(cgroupHook(a.hook).name);
      for (const r of reports) expect(r.split.pieces.length).toBe(1);
      expect(Math.max(...object.programs.map((p) => p.instructions.length))).toBeLessThan(1000);
      expect(lb.features.setRetval).toBe(target === '6.1' || target === '6.6');
      // Session affinity needs bpf_get_netns_cookie in connect/sendmsg (5.7): reported, and no affinity tables, before.
      const old = target === '4.19' || target === '5.4';
      expect(lb.features.affinity).toBe(!old);
      expect(lb.limitations.map((l) => l.feature)).toEqual(old ? ['sessionAffinity'] : []);
      for (const l of lb.limitations) expect(l.reason).toMatch(new RegExp(`target ${target} .*bpf_get_netns_cookie \\(kernel 5\\.7\\).*like any other`));
      const maps = object.maps!.map((m) => m.name);
      expect(maps.filter((n) => n.endsWith('_affinity'))).toEqual(old ? [] : ['lb4_affinity', 'lb6_affinity']);
    });
  }

  it('is deterministic: the same options and target give byte-identical ELF', () => {
    const opts: SocketLbOptions = { target: '5.10', nodePortRange: [31000, 31999], hostNamespaceOnly: true };
    expect(Buffer.from(compileSocketLb(opts).elf).equals(Buffer.from(compileSocketLb(opts).elf))).toBe(true);
  });

  it('node settings change the programs: IPv4 only, no NodePort, host namespace only', () => {
    const v4 = compileSocketLb({ target: '6.6', ipv6: false });
    expect(v4.lb.attach.map((a) => a.program)).toEqual(['sock4_connect', 'sock4_sendmsg', 'sock4_recvmsg', 'sock4_getpeer', 'sock_release']);
    expect(v4.object.maps!.map((m) => m.name).filter((n) => n.startsWith('lb6'))).toEqual([]);
    expect(v4.object.maps!.map((m) => m.name)).toContain('lb4_affinity');
    const size = (o: SocketLbOptions) => compileSocketLb(o).object.programs.find((p) => p.name === 'sock4_connect')!.instructions.length;
    const plain = size({ target: '6.6' });
    expect(size({ target: '6.6', nodePortRange: false })).toBeLessThan(plain);
    expect(compileSocketLb({ target: '6.6', nodePortRange: false }).object.maps!.map((m) => m.name)).not.toContain('lb4_node_addrs');
    expect(size({ target: '6.6', hostNamespaceOnly: true })).toBeGreaterThan(plain);
    // The range is baked in as constants: a different range, different bytes.
    expect(Buffer.from(compileSocketLb({ target: '6.6', nodePortRange: [30000, 30001] }).elf).equals(Buffer.from(compileSocketLb({ target: '6.6' }).elf))).toBe(false);
  });

  it('rejects bad options with a SocketLbError naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ nodePortRange: [32767, 30000] }, /nodePortRange must be \[first, last\]/],
      [{ nodePortRange: [0, 10] }, /nodePortRange/],
      [{ ipv4: false, ipv6: false }, /both off/],
      [{ ipv6: 'yes' }, /ipv6 must be a boolean/],
      [{ hostNetnsCookie: 5n }, /only applies with hostNamespaceOnly/],
      [{ hostNamespaceOnly: true, hostNetnsCookie: -1n }, /positive 64-bit bigint/],
      [{ nodeports: [1, 2] }, /unknown option 'nodeports'/],
    ];
    for (const [opts, msg] of bad) {
      let err: unknown;
      try {
        socketLbPrograms({ target: '6.6', ...(opts as object) } as SocketLbOptions);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(opts, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBeInstanceOf(SocketLbError);
      expect((err as SocketLbError).code).toBe('SOCKLB_OPTIONS');
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('node address entries: IPv4 and IPv6 keys for the two tables, bad addresses refused', () => {
    expect(nodeAddressEntries(['10.0.0.7', 'fd00::7']).map((e) => [e.map, Buffer.from(e.key).toString('hex'), [...e.value]])).toEqual([
      ['lb4_node_addrs', '0a000007', [1]],
      ['lb6_node_addrs', 'fd000000000000000000000000000007', [1]],
    ]);
    expect(() => nodeAddressEntries(['10.0.0.256'])).toThrow(SocketLbError);
    expect(() => nodeAddressEntries(['10.0.0.256'])).toThrow(/"10\.0\.0\.256" is not an IPv4 or IPv6 address/);
    const local = localNodeAddresses();
    expect(local).not.toContain('127.0.0.1');
    expect(local).not.toContain('::1');
    expect(() => nodeAddressEntries(local)).not.toThrow();
  });
});
