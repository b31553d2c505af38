/**
 * Object specs built with the dsl/isa assembler for the ELF tests: several
 * program types sharing maps, a subprogram called from two programs, a prog
 * array with initial slots, a map-in-map, a pinned map, `.rodata` config and a
 * `.bss` counter.
 */
import { asm } from '../../dsl/isa/index.js';
import { BpfFunc } from '../../dsl/kernel/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { struct, u32, u64 } from '../../dsl/types/index.js';

/** The `.rodata` configuration struct. */
export const Config = struct('tsbpf_cfg', { verdict: u32, flags: u32 });

/** Counts into `counters[key]` (if present), calls `bump`, and leaves r0 alone. */
function countAndBump(a: ReturnType<typeof asm>, key: number, label: string) {
  return a
    .mov64('r6', 'r1')
    .stw('r10', -4, key)
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .ldMapFd('r1', 'counters')
    .call(BpfFunc.map_lookup_elem)
    .jeq('r0', 0, label)
    .mov64('r1', 1)
    .atomicAdd64('r0', 0, 'r1')
    .label(label)
    .mov64('r1', 'r6')
    .callFunc('bump');
}

/** The full-featured spec; `pinnedName` names the map pinned by name. */
export function richSpec(pinnedName = 'counters'): ObjectSpec {
  const rename = (n: string) => (n === 'counters' ? pinnedName : n);
  const fix = (list: ReturnType<ReturnType<typeof asm>['build']>) =>
    list.map((i) => (i.meta?.ref?.kind === 'map' ? { ...i, meta: { ...i.meta, ref: { kind: 'map' as const, name: rename(i.meta.ref.name) } } } : i));
  const bump = asm()
    .ldGlobal('r1', 'hits')
    .mov64('r2', 1)
    .atomicAdd64('r1', 0, 'r2')
    .ldGlobal('r1', 'cfg', 0)
    .ldxw('r0', 'r1', 0)
    .exit()
    .build();
  const tcMain = countAndBump(asm(), 1, 'tc_skip')
    .mov64('r1', 'r6')
    .ldMapFd('r2', 'jmp')
    .mov64('r3', 0)
    .call(BpfFunc.tail_call)
    .mov64('r0', 0)
    .exit()
    .build();
  const tcTail = asm().mov64('r0', 0).exit().build();
  const xdpMain = countAndBump(asm(), 2, 'xdp_skip')
    .ldMapFd('r1', 'outer')
    .mov64('r0', 2)
    .exit()
    .build();
  const connect4 = countAndBump(asm(), 3, 'c4_skip').mov64('r0', 1).exit().build();
  return {
    license: 'GPL',
    programs: [
      { name: 'tc_main', section: 'tc', instructions: fix(tcMain) },
      { name: 'tc_tail', section: 'tc', instructions: tcTail },
      { name: 'xdp_main', section: 'xdp', instructions: fix(xdpMain) },
      { name: 'connect4_main', section: 'cgroup/connect4', instructions: fix(connect4) },
    ],
    subprograms: [{ name: 'bump', instructions: bump }],
    maps: [
      { name: pinnedName, type: 'HASH', key: u32, value: u64, maxEntries: 16, pinning: 'byName' },
      { name: 'jmp', type: 'PROG_ARRAY', maxEntries: 4, values: [null, 'tc_tail', null, 'tc_tail'] },
      { name: 'inner_a', type: 'ARRAY', key: u32, value: u32, maxEntries: 1 },
      { name: 'outer', type: 'ARRAY_OF_MAPS', key: u32, maxEntries: 2, innerMap: { type: 'ARRAY', key: u32, value: u32, maxEntries: 1 }, values: ['inner_a'] },
    ],
    globals: [
      { name: 'cfg', section: '.rodata', type: Config, init: Config.encode({ verdict: 7, flags: 3 }) },
      { name: 'hits', section: '.bss', type: u64 },
    ],
  };
}
