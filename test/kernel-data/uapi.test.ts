/**
 * The generated UAPI data against the header itself (numbers re-read here by a
 * different route than the generator's), and all enums — generated plus the
 * hand-written additions newer than the header — against the running kernel's BTF.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ADDED_SINCE,
  AttachFlags,
  BpfAttachType,
  BpfCmd,
  BpfFunc,
  BpfLinkType,
  BpfMapType,
  BpfProgType,
  BtfKind,
  HELPERS,
  MapFlags,
  UAPI,
  UAPI_HELPERS,
  XdpAction,
  XdpFlags,
  flagNames,
  helperById,
  helperByName,
  KernelDataError,
  nameOf,
} from '../../dsl/kernel/index.js';
import { need } from '../support/env.js';
import { INCLUDE_DIR, needUapiHeaders } from './header-gate.js';

describe.skipIf(!needUapiHeaders())('generated tables vs the UAPI header', () => {
  const bpfH = readFileSync(`${INCLUDE_DIR}/linux/bpf.h`, 'utf8');
  // Helper ids by counting FN( entries of the mapper macro: the header's own numbering.
  const mapper = bpfH.slice(bpfH.search(/#define\s+_{2,3}BPF_FUNC_MAPPER/));
  const macro = mapper.slice(0, mapper.search(/\n[^\n]*[^\\\s]\s*\n/) + 1);
  const fnNames = [...macro.matchAll(/FN\((\w+)/g)].map((m) => m[1]!);
  const explicitIds = [...macro.matchAll(/FN\((\w+),\s*(\d+)/g)];
  const headerId = (name: string) => {
    const e = explicitIds.find((m) => m[1] === name);
    return e ? Number(e[2]) : fnNames.indexOf(name);
  };

  it('helper ids are the header numbering (map_lookup_elem, redirect_neigh, loop, …)', () => {
    for (const n of ['map_lookup_elem', 'redirect_neigh', 'loop', 'fib_lookup', 'tail_call', 'ringbuf_output']) {
      expect(headerId(n), n).toBeGreaterThan(0);
      expect(BpfFunc[n as keyof typeof BpfFunc], n).toBe(headerId(n));
    }
    // every named FN, none dropped or duplicated
    expect(UAPI_HELPERS.length).toBe(fnNames.filter((n) => n !== 'unspec').length);
    for (const h of UAPI_HELPERS) expect(h.id, h.name).toBe(headerId(h.name));
  });

  it('prototypes and summaries come from the documentation comment', () => {
    for (const h of UAPI_HELPERS) {
      expect(h.signature, h.name).not.toBe('');
      expect(bpfH.includes(` * ${h.signature}\n`), h.name).toBe(true);
      expect(h.summary.length, h.name).toBeGreaterThan(5);
    }
    const upd = helperByName('map_update_elem');
    expect(upd.args.map((a) => a.type.kind)).toEqual(['map', 'mapKey', 'mapValue', 'scalar']);
    const load = helperByName('bpf_skb_load_bytes');
    expect(load.args.map((a) => a.type.kind)).toEqual(['ctx', 'scalar', 'mem', 'memSize']);
    expect(load.args[2]!.type).toMatchObject({ kind: 'mem', sizeArg: 3, access: 'write' });
    expect(helperByName('get_prandom_u32').ret).toMatchObject({ kind: 'scalar', bits: 32, signed: false });
    expect(helperByName('map_lookup_elem').ret).toMatchObject({ kind: 'ptr', nullable: true });
    expect(helperByName('loop').args[1]!.type.kind).toBe('callback');
    expect(helperByName('trace_printk').args.at(-1)!.type.kind).toBe('varargs');
    expect(() => helperByName('no_such_helper')).toThrow(KernelDataError);
    expect(helperById(BpfFunc.redirect)!.name).toBe('redirect');
  });

  it('constants match #defines read by a plain regex', () => {
    const def = (name: string) => {
      const m = new RegExp(`#define\\s+${name}\\s+\\(1U << (\\d+)\\)`).exec(bpfH);
      return m ? 1 << Number(m[1]) : undefined;
    };
    expect(AttachFlags.ALLOW_MULTI).toBe(def('BPF_F_ALLOW_MULTI'));
    expect(AttachFlags.REPLACE).toBe(def('BPF_F_REPLACE'));
    expect(UAPI.BPF_F_ALLOW_MULTI).toBe(def('BPF_F_ALLOW_MULTI'));
    const ifLink = readFileSync(`${INCLUDE_DIR}/linux/if_link.h`, 'utf8');
    expect(XdpFlags.SKB_MODE).toBe(1 << Number(/#define\s+XDP_FLAGS_SKB_MODE\s+\(1U << (\d+)\)/.exec(ifLink)![1]));
    expect(flagNames(MapFlags, MapFlags.NO_PREALLOC | MapFlags.RDONLY_PROG)).toEqual(['NO_PREALLOC', 'RDONLY_PROG']);
    expect(nameOf(BpfCmd, BpfCmd.PROG_TEST_RUN)).toBe('PROG_TEST_RUN');
    expect(nameOf(XdpAction, 2)).toBe('PASS');
    expect(nameOf(BpfProgType, 12345)).toBeUndefined();
  });

  it('every helper has availability data', () => {
    expect(HELPERS.length).toBe(Object.keys(BpfFunc).length);
    for (const h of HELPERS) expect(h.since, h.name).toMatch(/^\d+\.\d+$/);
  });
});

/** Enum members from the kernel's BTF, as `bpftool btf dump format c` prints them. */
function vmlinuxEnums(): { values: Map<string, number>; named: Map<string, string[]> } {
  const c = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 1 << 30 }).toString();
  const values = new Map<string, number>();
  const named = new Map<string, string[]>();
  for (const body of c.matchAll(/^enum\s*(\w*)\s*\{\n([\s\S]*?)^\};/gm)) {
    const names: string[] = [];
    for (const m of body[2]!.matchAll(/^\t(\w+) = (-?\d+),?$/gm)) {
      names.push(m[1]!);
      if (!values.has(m[1]!)) values.set(m[1]!, Number(m[2]));
    }
    if (body[1]) named.set(body[1], names);
  }
  return { values, named };
}

describe.skipIf(!need({ tools: ['bpftool'], kernel: true }))('enums vs the running kernel BTF', () => {
  const { values: kernel, named: kernelNamed } = vmlinuxEnums();
  const groups: [string, Record<string, number>, string][] = [
    ['BpfCmd', BpfCmd, 'BPF_'],
    ['BpfMapType', BpfMapType, 'BPF_MAP_TYPE_'],
    ['BpfProgType', BpfProgType, 'BPF_PROG_TYPE_'],
    ['BpfAttachType', BpfAttachType, 'BPF_'],
    ['BpfLinkType', BpfLinkType, 'BPF_LINK_TYPE_'],
    ['BpfFunc', BpfFunc, 'BPF_FUNC_'],
    ['MapFlags', MapFlags, 'BPF_F_'],
    ['BtfKind', BtfKind, 'BTF_KIND_'],
    ['XdpAction', XdpAction, 'XDP_'],
  ];
  for (const [label, e, prefix] of groups) {
    it(`${label}: every value is the kernel's`, () => {
      const wrong: string[] = [];
      for (const [k, v] of Object.entries(e)) {
        const kv = kernel.get(prefix + k);
        if (kv !== undefined && kv !== v) wrong.push(`${prefix}${k}: ours ${v}, kernel ${kv}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('the additions newer than the header all exist in this kernel with these values', () => {
    const prefixes: Record<string, string> = { cmd: 'BPF_', mapType: 'BPF_MAP_TYPE_', progType: 'BPF_PROG_TYPE_', attachType: 'BPF_', linkType: 'BPF_LINK_TYPE_', mapFlag: 'BPF_F_', helper: 'BPF_FUNC_' };
    for (const [group, adds] of Object.entries(ADDED_SINCE)) {
      if (group === 'attachFlag') continue; // #defines: not in BTF
      for (const [k, a] of Object.entries(adds)) expect(kernel.get(prefixes[group]! + k), `${group} ${k}`).toBe(a.value);
    }
  });

  it('no member of the kernel\'s enums is missing (commands, map/prog/attach/link types, helpers)', () => {
    const named: [string, Record<string, number>, string][] = [
      ['bpf_cmd', BpfCmd, 'BPF_'],
      ['bpf_map_type', BpfMapType, 'BPF_MAP_TYPE_'],
      ['bpf_prog_type', BpfProgType, 'BPF_PROG_TYPE_'],
      ['bpf_attach_type', BpfAttachType, 'BPF_'],
      ['bpf_link_type', BpfLinkType, 'BPF_LINK_TYPE_'],
      ['bpf_func_id', BpfFunc, 'BPF_FUNC_'],
    ];
    const missing: string[] = [];
    for (const [enumName, e, prefix] of named) {
      const members = kernelNamed.get(enumName);
      expect(members, enumName).toBeDefined();
      for (const k of members!) {
        // Skip sentinels (__MAX_*), BPF_FUNC_unspec (id 0, not a helper) and *_DEPRECATED aliases.
        if (k.startsWith('__') || k === 'BPF_FUNC_unspec' || k.endsWith('_DEPRECATED')) continue;
        if (!(k.slice(prefix.length) in e)) missing.push(`${enumName}: ${k}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
