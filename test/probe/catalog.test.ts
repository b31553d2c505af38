/**
 * The prober's own readings checked against oracles: the vmlinux BTF index
 * against `bpftool btf dump`, the catalog against dsl/kernel's UAPI tables, and
 * the pure helpers (helper-failure classification, verifier summary, kernel
 * config parsing) on fixed inputs.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { VmlinuxIndex, ENUMS } from '../../loader/probe/vmlinux.js';
import { buildCatalog } from '../../loader/probe/catalog.js';
import { classifyHelperFailure, clearProbeCache, parseProcessed, probeKernel } from '../../loader/probe/index.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKernelConfig } from '../../loader/probe/system.js';
import { BpfFunc, BpfProgType } from '../../dsl/kernel/enums.js';

describe.skipIf(!need({ kernel: true, tools: ['bpftool'] }))('vmlinux BTF index', () => {
  const dump = () => execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 1 << 28 });

  it('enum members equal bpftool’s dump of the same enums', () => {
    const text = dump();
    const v = VmlinuxIndex.load()!;
    for (const e of ENUMS) {
      const block = new RegExp(`^\\[\\d+\\] ENUM '${e}'[^\\n]*\\n((?:\\t[^\\n]*\\n)*)`, 'm').exec(text);
      expect(block, e).not.toBeNull();
      const want = new Map([...block![1]!.matchAll(/'([^']+)' val=(-?\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
      expect(new Map(v.enumMembers(e)!), e).toEqual(want);
    }
  }, 60_000);

  it('function ids equal bpftool’s for bpf_* and other names; absent names are undefined', () => {
    const text = dump();
    const ids = new Map<string, number>();
    for (const m of text.matchAll(/^\[(\d+)\] FUNC '([^']+)'/gm)) if (!ids.has(m[2]!)) ids.set(m[2]!, Number(m[1]));
    const v = VmlinuxIndex.load()!;
    const names = [...ids.keys()];
    // A deterministic spread of names across the table, plus the ones the prober uses.
    const sample = names.filter((_, k) => k % 997 === 0).concat(['bpf_fentry_test1', 'bpf_lsm_file_open', 'tcp_v4_connect']);
    for (const n of sample) expect(v.funcId(n), n).toBe(ids.get(n));
    expect(v.funcId('no_such_function_in_any_kernel')).toBeUndefined();
    expect(v.funcId('bpf_no_such_kfunc')).toBeUndefined();
  }, 60_000);

  it('the catalog from kernel BTF names every helper dsl/kernel knows with the same id', () => {
    const c = buildCatalog(VmlinuxIndex.load());
    expect(c.source).toBe('vmlinux-btf');
    const fromKernel = new Map(c.helpers.map((h) => [h.name, h.value]));
    for (const [name, id] of Object.entries(BpfFunc)) if (name !== 'unspec') expect(fromKernel.get(`bpf_${name}`), name).toBe(id);
    const progs = new Map(c.progTypes.map((p) => [p.name, p.value]));
    for (const [name, v] of Object.entries(BpfProgType)) if (name !== 'UNSPEC' && progs.has(name.toLowerCase())) expect(progs.get(name.toLowerCase())).toBe(v);
    // Renamed aliases collapse to the current name.
    expect(c.mapTypes.filter((m) => m.value === 19).map((m) => m.name)).toEqual(['cgroup_storage']);
  });
});

describe.skipIf(!need({ kernel: true }))('without usable vmlinux BTF', () => {
  it('falls back to the UAPI tables, says so, and still probes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-probe-btf-'));
    try {
      // A truncated copy: valid header, type section cut mid-way.
      const real = readFileSync('/sys/kernel/btf/vmlinux');
      const cut = join(dir, 'cut');
      writeFileSync(cut, real.subarray(0, 100_000));
      const garbage = join(dir, 'garbage');
      writeFileSync(garbage, 'not BTF at all');
      expect(VmlinuxIndex.load(cut)).toBeUndefined();
      expect(VmlinuxIndex.load(garbage)).toBeUndefined();
      expect(VmlinuxIndex.load(join(dir, 'missing'))).toBeUndefined();
      const r = probeKernel({ fresh: true, vmlinuxPath: garbage, sections: ['program_types', 'kfuncs'] });
      expect(r.notes?.join(' ')).toMatch(/UAPI tables/);
      expect(r.program_types!.xdp!.status).toBe('supported');
      expect(r.kfuncs!.bpf_xdp_ct_lookup!.status).toBe('inconclusive');
    } finally {
      clearProbeCache();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('probe pure helpers', () => {
  it('classifies helper failures by the three refusal phrases only', () => {
    expect(classifyHelperFailure(22, '0: R1=ctx() R10=fp0\n0: (85) call bpf_probe_read#4\nprogram of this type cannot use helper bpf_probe_read#4\nprocessed 1 insns (limit 1000000)\n')).toEqual({
      status: 'unsupported',
      reason: 'program of this type cannot use helper bpf_probe_read#4',
    });
    expect(classifyHelperFailure(22, 'unknown func bpf_skb_load_bytes#26\n').status).toBe('unsupported');
    expect(classifyHelperFailure(22, 'invalid func unknown#300\n').status).toBe('unsupported');
    const other = classifyHelperFailure(13, '0: (85) call bpf_map_lookup_elem#1\nR1 type=ctx expected=map_ptr\nprocessed 1 insns (limit 1000000)\n');
    expect(other.status).toBe('supported');
    expect(other.reason).toContain('EACCES: R1 type=ctx expected=map_ptr');
    // A near miss is not a refusal.
    expect(classifyHelperFailure(22, 'invalid funcs in program\n').status).toBe('supported');
  });

  it('reads the verifier summary line', () => {
    expect(parseProcessed('processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0')).toEqual({ processed: 2, limit: 1000000 });
    expect(parseProcessed('processed 9 insns, stack depth 0')).toBeUndefined();
  });

  it('parses kernel config lines', () => {
    const c = parseKernelConfig('# comment\nCONFIG_BPF=y\n# CONFIG_NETKIT is not set\nCONFIG_HZ=250\nCONFIG_LSM="landlock,bpf"\n');
    expect(c.get('CONFIG_BPF')).toBe('y');
    expect(c.has('CONFIG_NETKIT')).toBe(false);
    expect(c.get('CONFIG_HZ')).toBe('250');
    expect(c.get('CONFIG_LSM')).toBe('landlock,bpf');
  });
});
