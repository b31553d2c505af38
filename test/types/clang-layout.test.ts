/**
 * THE CLANG ORACLE: every schema below is also written as C. The C is compiled by
 * clang-19 for the BPF target, its BTF is read with our decoder (and, as a second,
 * independent reader, with bpftool), and for each struct we compare:
 * - size and every member's bit offset / bitfield width with the schema, recursively;
 * - the whole BTF type tree clang emitted with the one `schemaToBtf` builds
 *   (names, typedef chains like `__be32 → __u32 → unsigned int`, encodings, arrays);
 * - `offsetof` for nested paths, via `char[offsetof(...)]` typedefs whose array
 *   length clang records in BTF.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { BtfBuilder, type Btf } from '../../dsl/btf/index.js';
import {
  array, be16, be32, be64, bits, bool, char, cstring, enumType, ipv4, ipv6, mac, offsetof, pad, s16, s32, s64, s8, schemaToBtf, struct,
  schemaFromBtf, typedef, u16, u32, u64, u8, union, type AnySchema, type Member,
} from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { compareLayout, compileBtf, shape, type BpftoolType } from './clang-support.js';
import { SpecBuilder, topArb } from './random-schemas.js';

const ready = need({ tools: ['clang-19', 'bpftool', 'llvm-objcopy-19'] });

// ---- The table: C declaration and the schema that must match it -------------

const CtDir = enumType('ct_dir', { CT_EGRESS: 0, CT_INGRESS: 1, CT_SERVICE: 2 }, u8);
const Signedness = enumType('signedness', { NEG: -5, POS: 7 });
const Big = enumType('big_enum', { SMALL: 1, HUGE: 0x100000000n }, u64);
const Inner = struct('inner', { a: u8, b: u16 });
const Addr6 = union('v6addr', { addr: ipv6, p32: array(be32, 4) });

interface Case {
  readonly c: string;
  readonly schema: AnySchema;
  /** Nested paths whose offsetof is checked against clang's `__builtin_offsetof`. */
  readonly paths?: readonly string[];
}

const cases: Case[] = [
  {
    c: 'struct holes { __u8 a; __u32 b; __u8 c; __u64 d; __u16 e; };',
    schema: struct('holes', { a: u8, b: u32, c: u8, d: u64, e: u16 }),
  },
  {
    c: 'struct names { char c; char comm[16]; __u32 pid; char tail[3]; };',
    schema: struct('names', { c: char, comm: cstring(16), pid: u32, tail: cstring(3) }),
    paths: ['comm[15]', 'pid', 'tail[2]'],
  },
  {
    c: 'struct signed_ints { __s8 a; __s16 b; __s32 c; __s64 d; _Bool f; };',
    schema: struct('signed_ints', { a: s8, b: s16, c: s32, d: s64, f: bool }),
  },
  {
    c: 'struct net_order { __u8 x; __be16 port; __be32 addr; __be64 big; __u8 y; };',
    schema: struct('net_order', { x: u8, port: be16, addr: be32, big: be64, y: u8 }),
  },
  {
    c: `struct inner { __u8 a; __u16 b; };
        struct nested { __u8 x; struct inner in; __u32 arr[3]; struct inner ins[2]; __u8 tail; };`,
    schema: struct('nested', { x: u8, in: Inner, arr: array(u32, 3), ins: array(Inner, 2), tail: u8 }),
    paths: ['in.b', 'arr[2]', 'ins[1].b', 'tail'],
  },
  {
    c: 'union mixed { __u32 a; __u8 b[7]; __u16 c; };',
    schema: union('mixed', { a: u32, b: array(u8, 7), c: u16 }),
  },
  {
    c: `union v6addr { __u8 addr[16]; __be32 p32[4]; };
        struct with_union { __u8 kind; union v6addr addr; __u8 mac[6]; __u16 after; };`,
    schema: struct('with_union', { kind: u8, addr: Addr6, mac, after: u16 }),
    paths: ['addr.p32[3]', 'mac', 'after'],
  },
  {
    c: 'struct __attribute__((packed)) packed_s { __u8 a; __u32 b; __u16 c; __u64 d; };',
    schema: struct('packed_s', { a: u8, b: u32, c: u16, d: u64 }, { packed: true }),
  },
  {
    c: `struct __attribute__((packed)) pk_inner { __u8 a; __u32 b; };
        struct holds_packed { __u8 x; struct pk_inner p; __u32 y; };`,
    schema: struct('holds_packed', { x: u8, p: struct('pk_inner', { a: u8, b: u32 }, { packed: true }), y: u32 }),
    paths: ['p.b', 'y'],
  },
  {
    c: 'struct __attribute__((aligned(8))) al8 { __u32 a; };',
    schema: struct('al8', { a: u32 }, { align: 8 }),
  },
  {
    c: `union __attribute__((aligned(8))) attr_like { struct { __u32 map_type; __u32 key_size; __u32 value_size; } create; __u32 fd; };`,
    schema: union('attr_like', { create: struct('', { map_type: u32, key_size: u32, value_size: u32 }), fd: u32 }, { align: 8 }),
  },
  {
    c: `struct __attribute__((packed, aligned(4))) pk_al { __u8 a; __u32 b; };
        struct holds_pk_al { __u8 x; struct pk_al y; };`,
    schema: struct('holds_pk_al', { x: u8, y: struct('pk_al', { a: u8, b: u32 }, { packed: true, align: 4 }) }),
    paths: ['y.b'],
  },
  {
    c: `enum __attribute__((packed)) ct_dir { CT_EGRESS, CT_INGRESS, CT_SERVICE };
        enum signedness { NEG = -5, POS = 7 };
        enum big_enum { SMALL = 1, HUGE = 0x100000000ULL };
        struct enums { enum ct_dir dir; enum signedness s; __u8 pad[1]; enum big_enum b; };`,
    schema: struct('enums', { dir: CtDir, s: Signedness, pad: pad(1), b: Big }),
  },
  {
    c: `struct bitfields { __u8 a:3, b:5; __u32 c:20; __u32 d:20; __u64 e:40; __s16 f:4; __u8 g; __u32 h:1; };`,
    schema: struct('bitfields', {
      a: bits(u8, 3), b: bits(u8, 5), c: bits(u32, 20), d: bits(u32, 20), e: bits(u64, 40), f: bits(s16, 4), g: u8,
      h: bits(u32, 1),
    }),
  },
  {
    c: `struct __attribute__((packed)) packed_bits { __u8 a; __u32 b:7; __u32 c:30; __u16 d; };`,
    schema: struct('packed_bits', { a: u8, b: bits(u32, 7), c: bits(u32, 30), d: u16 }, { packed: true }),
  },
  {
    c: `union bit_union { __u32 a:3; __u16 b; __u8 c:1; };`,
    schema: union('bit_union', { a: bits(u32, 3), b: u16, c: bits(u8, 1) }),
  },
  {
    c: `typedef struct { __u32 a; __u16 b; } anon_t;
        typedef __u64 cookie_t;
        struct uses_typedefs { anon_t v; cookie_t c; __u8 tail[0]; };`,
    schema: struct('uses_typedefs', {
      v: typedef('anon_t', struct('', { a: u32, b: u16 })),
      c: typedef('cookie_t', u64),
      tail: array(u8, 0),
    }),
    paths: ['v.b', 'c', 'tail'],
  },
  // The service datapath's maps (reference/datapath.md §3).
  {
    c: `struct lb4_key { __be32 address; __be16 dport; __u16 backend_slot; __u8 proto; __u8 scope; __u8 pad[2]; };`,
    schema: struct('lb4_key', { address: ipv4, dport: be16, backend_slot: u16, proto: u8, scope: u8, pad: pad(2) }),
  },
  {
    c: `struct lb4_service { __u32 backend_id; __u16 count; __u16 rev_nat_index; __u8 flags; __u8 flags2; __u16 pad; };`,
    schema: struct('lb4_service', { backend_id: u32, count: u16, rev_nat_index: u16, flags: u8, flags2: u8, pad: u16 }),
  },
  {
    c: `struct lb4_backend { __be32 address; __be16 port; __u8 proto; __u8 flags; };
        struct lb4_reverse_nat { __be32 address; __be16 port; };`,
    schema: struct('lb4_backend', { address: ipv4, port: be16, proto: u8, flags: u8 }),
  },
  {
    c: `struct lb4_reverse_nat { __be32 address; __be16 port; };`,
    schema: struct('lb4_reverse_nat', { address: ipv4, port: be16 }),
  },
  {
    c: `struct __attribute__((packed)) ipv4_ct_tuple { __be32 daddr; __be32 saddr; __be16 dport; __be16 sport; __u8 nexthdr; __u8 flags; };`,
    schema: struct('ipv4_ct_tuple', { daddr: ipv4, saddr: ipv4, dport: be16, sport: be16, nexthdr: u8, flags: u8 }, { packed: true }),
  },
  {
    c: `struct ct_entry {
          __u64 rx_packets; __u64 rx_bytes; __u64 tx_packets; __u64 tx_bytes;
          __u32 lifetime;
          __u16 rx_closing:1, tx_closing:1, nat46:1, lb_loopback:1, seen_non_syn:1, node_port:1, proxy_redirect:1, reserved:9;
          __u16 rev_nat_index;
          __u16 backend_id;
          __u8 tx_flags_seen; __u8 rx_flags_seen;
          __u32 src_sec_id; __u32 last_tx_report; __u32 last_rx_report;
        };`,
    schema: struct('ct_entry', {
      rx_packets: u64, rx_bytes: u64, tx_packets: u64, tx_bytes: u64,
      lifetime: u32,
      rx_closing: bits(u16, 1), tx_closing: bits(u16, 1), nat46: bits(u16, 1), lb_loopback: bits(u16, 1),
      seen_non_syn: bits(u16, 1), node_port: bits(u16, 1), proxy_redirect: bits(u16, 1), reserved: bits(u16, 9),
      rev_nat_index: u16,
      backend_id: u16,
      tx_flags_seen: u8, rx_flags_seen: u8,
      src_sec_id: u32, last_tx_report: u32, last_rx_report: u32,
    }),
    paths: ['lifetime', 'rev_nat_index', 'last_rx_report'],
  },
  {
    c: `struct ipv4_nat_entry { __u64 created; __u64 host_local; __u64 pad[2]; __be32 to_saddr; __be16 to_sport; };`,
    schema: struct('ipv4_nat_entry', { created: u64, host_local: u64, pad: array(u64, 2), to_saddr: ipv4, to_sport: be16 }),
  },
  {
    c: `struct ipv4_revnat_tuple { __u64 cookie; __be32 address; __be16 port; __u16 pad; };
        struct ipv4_revnat_entry { __be32 address; __be16 port; __u16 rev_nat_index; };`,
    schema: struct('ipv4_revnat_tuple', { cookie: u64, address: ipv4, port: be16, pad: u16 }),
  },
  {
    c: `union macaddr { struct { __u32 p1; __u16 p2; }; __u8 addr[6]; };
        union macaddr g_macaddr;
        struct lb4_neigh_value { __u8 mac[6]; __u8 pad[2]; };`,
    schema: struct('lb4_neigh_value', { mac, pad: pad(2) }),
  },
];

// ---- Helpers -------------------------------------------------------------------

/** Deduplicates C declarations repeated across cases (same text ⇒ same declaration). */
function cSource(): string {
  const decls: string[] = [];
  const seen = new Set<string>();
  for (const k of cases) {
    for (const d of k.c.split(/(?<=;)\s*\n\s*/)) {
      const text = d.trim();
      if (text && !seen.has(text)) {
        seen.add(text);
        decls.push(text);
      }
    }
  }
  const globals = cases.map((k, i) => `${cType(k.schema)} g${i};`);
  const offsets = cases.flatMap((k, i) =>
    (k.paths ?? []).map((p, j) => `typedef char off_${i}_${j}[__builtin_offsetof(${cType(k.schema)}, ${p})]; off_${i}_${j} go_${i}_${j};`),
  );
  return ['#include <linux/types.h>', ...decls, ...globals, ...offsets].join('\n') + '\n';
}

function cType(s: AnySchema): string {
  return `${s.kind} ${s.name}`;
}

// ---- The tests -------------------------------------------------------------------

describe.skipIf(!ready)('schemas agree with clang-19 -target bpf', () => {
  let clang: Btf;
  let bpftoolTypes: BpftoolType[];

  beforeAll(() => {
    ({ btf: clang, bpftool: bpftoolTypes } = compileBtf(cSource()));
  });

  it.each(cases.map((k) => [cType(k.schema), k] as const))('%s: size and member offsets equal clang', (name, k) => {
    const entry = clang.lookup(k.schema.name, k.schema.kind as 'struct' | 'union');
    compareLayout(clang, entry.id, k.schema, k.schema.name);
    // Second reader: bpftool agrees with our decoder on size and member offsets.
    const bt = bpftoolTypes.find((t) => t.kind === k.schema.kind.toUpperCase() && t.name === k.schema.name);
    expect(bt, `bpftool sees ${name}`).toBeDefined();
    expect(bt!.size).toBe(k.schema.size);
    expect(bt!.members!.map((m) => [m.name, m.bits_offset, m.bitfield_size ?? 0])).toEqual(
      (k.schema as unknown as { members: readonly Member[] }).members.map((m) => [m.name, m.bitOffset, m.bitSize]),
    );
  });

  it.each(cases.map((k) => [cType(k.schema), k] as const))('%s: schemaToBtf builds the BTF clang emits', (_n, k) => {
    const builder = new BtfBuilder();
    const id = schemaToBtf(builder, k.schema);
    const ours = builder.build();
    const theirs = clang.lookup(k.schema.name, k.schema.kind as 'struct' | 'union');
    expect(shape(ours, id)).toBe(shape(clang, theirs.id));
  });

  it.each(cases.map((k) => [cType(k.schema), k] as const))('%s: schemaFromBtf(clang BTF) gives back the same layout and BTF', (_n, k) => {
    const theirs = clang.lookup(k.schema.name, k.schema.kind as 'struct' | 'union');
    const back = schemaFromBtf(clang, theirs.id);
    compareLayout(clang, theirs.id, back, k.schema.name);
    const b = new BtfBuilder();
    const id = schemaToBtf(b, back);
    expect(shape(b.build(), id)).toBe(shape(clang, theirs.id));
    // Host values agree too: bytes written by the hand-made schema decode identically.
    expect(back.size).toBe(k.schema.size);
  });

  it('schemaFromBtf names anonymous members and keeps their layout', () => {
    const macaddr = clang.lookup('macaddr', 'union');
    const s = schemaFromBtf(clang, macaddr.id) as unknown as { members: readonly Member[]; size: number };
    expect(s.members.map((m) => m.name)).toEqual(['__anon0', 'addr']);
    expect(s.size).toBe(8);
    compareLayout(clang, macaddr.id, s as unknown as AnySchema, 'macaddr');
  });

  it('offsetof of nested paths equals __builtin_offsetof', () => {
    let checked = 0;
    cases.forEach((k, i) => {
      (k.paths ?? []).forEach((p, j) => {
        const arr = clang.lookup(`off_${i}_${j}`, 'typedef');
        const t = clang.typeById(arr.type.type);
        expect(t.kind).toBe('array');
        expect(offsetof(k.schema as never, p as never), `offsetof(${k.schema.name}, ${p})`).toBe(
          (t as { nelems: number }).nelems,
        );
        checked++;
      });
    });
    expect(checked).toBeGreaterThan(10);
  });
});

describe.skipIf(!ready)('random schemas agree with clang-19 (seeded)', () => {
  // 300 random nested structs (unions, arrays, packed, enums, bitfields, addresses),
  // compiled as one C file: layout and BTF must match clang's for every one.
  const specs = fc.sample(topArb(3), { numRuns: 300, seed: 0x7b9f });
  const builder = new SpecBuilder('r');
  const schemas = specs.map((spec) => builder.build(spec).schema);
  const source = ['#include <linux/types.h>', ...builder.decls, ...schemas.map((s, i) => `struct ${s.name} rg${i};`)].join('\n');
  let clang: Btf;

  beforeAll(() => {
    clang = compileBtf(source).btf;
  });

  it('sizes, member offsets and bitfields equal clang for every random struct', () => {
    for (const s of schemas) compareLayout(clang, clang.lookup(s.name, 'struct').id, s, s.name);
  });

  it('schemaFromBtf reproduces every random struct from clang BTF (layout always, BTF unless padded)', () => {
    // BTF does not record alignment, so a packed type nested in another can be
    // ambiguous; then schemaFromBtf keeps the exact layout with explicit padding
    // fields. That must stay rare, and the layout must always be exact.
    const cache = new Map();
    let padded = 0;
    for (const s of schemas) {
      const theirs = clang.lookup(s.name, 'struct');
      const back = schemaFromBtf(clang, theirs.id, cache);
      compareLayout(clang, theirs.id, back, s.name);
      const b = new BtfBuilder();
      const id = schemaToBtf(b, back);
      const ours = shape(b.build(), id);
      if (ours.includes('__tsbpf_pad')) padded++;
      else expect(ours, s.name).toBe(shape(clang, theirs.id));
    }
    expect(padded).toBeLessThan(schemas.length * 0.02);
  });

  it('schemaToBtf builds the same BTF trees as clang for every random struct', () => {
    const b = new BtfBuilder();
    const ids = schemas.map((s) => schemaToBtf(b, s));
    const ours = b.build();
    schemas.forEach((s, i) => expect(shape(ours, ids[i]!), s.name).toBe(shape(clang, clang.lookup(s.name, 'struct').id)));
  });
});
