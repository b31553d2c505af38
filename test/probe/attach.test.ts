/**
 * Attach/link answers checked for real: every cgroup attach type the prober calls
 * supported (all sock_addr hooks included) is attached with BPF_LINK_CREATE to a
 * cgroup this test creates, then detached; and answers that depend on a kernel
 * build option agree with the kernel config (netkit ↔ CONFIG_NETKIT, kprobe_multi
 * ↔ CONFIG_FPROBE, lirc_mode2 ↔ CONFIG_BPF_LIRC_MODE2).
 */
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { createTestCgroup } from '../support/cgroup.js';
import { Program, type ProgTypeName } from '../../loader/index.js';
import { openCgroup } from '../../loader/links/cgroup.js';
import { tryBpf } from '../../loader/sys/bpf.js';
import { LinkCreateAttr } from '../../loader/sys/attr.js';
import { AttachType, Cmd } from '../../loader/sys/constants.js';
import { closeFd } from '../../loader/sys/ffi.js';
import { ATTACH_RECIPES } from '../../loader/probe/catalog.js';
import { readKernelConfig } from '../../loader/probe/system.js';
import { EXIT, fullReport, insns, MOV } from './shared.js';

const ok = need({ kernel: true });

describe.skipIf(!ok)('attach types, verified by real attachment', () => {
  it('every cgroup attach type reported supported attaches to a test cgroup with a link', () => {
    const attach = fullReport().attach_types!;
    const cgroupTypes = Object.entries(attach).filter(([n]) => n.startsWith('cgroup_') && ATTACH_RECIPES[n]?.method === 'attach');
    expect(cgroupTypes.length).toBeGreaterThan(20);
    const cg = createTestCgroup('probe');
    const cgFd = openCgroup(cg.path);
    try {
      let attached = 0;
      for (const [name, f] of cgroupTypes) {
        const value = (AttachType as Record<string, number>)[name.toUpperCase()]; // the probe reports bpftool's lower-case names
        if (value === undefined) continue; // newer than loader/sys's table
        const recipe = ATTACH_RECIPES[name]!;
        let loaded: Program | undefined;
        try {
          loaded = Program.load({ name: '', section: '', instructions: [], type: recipe.progType.toUpperCase() as ProgTypeName, expectedAttachType: value }, { bytes: insns(MOV(0, 1), EXIT) });
        } catch {
          loaded = undefined;
        }
        if (f.status !== 'supported') {
          expect(loaded, `${name} loads although reported ${f.status}`).toBeUndefined();
          continue;
        }
        expect(loaded, `${name}: program load`).toBeDefined();
        try {
          const r = tryBpf(Cmd.LINK_CREATE, LinkCreateAttr.encode({ prog_fd: loaded!.fd, target_fd: cgFd.value, attach_type: value }));
          expect(r.ok, `${name}: link to the test cgroup (${r.ok ? '' : r.errno})`).toBe(true);
          if (r.ok) {
            closeFd(r.ret); // closing the only link fd detaches it
            attached++;
          }
        } finally {
          loaded!.close();
        }
      }
      expect(attached).toBeGreaterThan(20);
    } finally {
      cgFd.close();
      cg.cleanup();
    }
  });

  it('answers that hinge on a build option agree with the kernel config', () => {
    const cfg = readKernelConfig();
    if (!cfg) return; // no config to compare with; the system section says so
    const r = fullReport();
    const set = (o: string) => cfg.entries.has(o);
    expect(r.attach_types!.netkit_primary!.status === 'supported').toBe(set('CONFIG_NETKIT'));
    expect(r.link_types!.netkit!.status === 'supported').toBe(set('CONFIG_NETKIT'));
    expect(r.attach_types!.trace_kprobe_multi!.status === 'supported').toBe(set('CONFIG_FPROBE'));
    expect(r.program_types!.lirc_mode2!.status === 'supported').toBe(set('CONFIG_BPF_LIRC_MODE2'));
    expect(r.map_types!.xskmap!.status === 'supported').toBe(set('CONFIG_XDP_SOCKETS'));
    expect(r.system!.config.options.CONFIG_BPF_SYSCALL).toBe('y');
  });
});
