/**
 * The generator's small C reader on synthetic inputs: both X-macro forms of the
 * helper list (positional FN(name) before 6.2, FN(name, id, ...) after), enum
 * counting and references, #define expressions, struct layout with md-pointers and
 * padding bit-fields, and argument classification.
 */
import { describe, expect, it } from 'vitest';
import { evalCExpr, parseConstants, parseStruct } from '../../scripts/generate-cparse.js';
import { classifyArgs, classifyReturn, parseHelperDocs, parseHelperIds } from '../../scripts/generate-helpers.js';

describe('helper list', () => {
  it('reads positional FN(name) ids (headers up to 6.1)', () => {
    const h = '#define __BPF_FUNC_MAPPER(FN)\\\n\tFN(unspec),\\\n\tFN(map_lookup_elem),\\\n\tFN(map_update_elem),\\\n\t/* */\n';
    expect([...parseHelperIds(h)]).toEqual([['unspec', 0], ['map_lookup_elem', 1], ['map_update_elem', 2]]);
  });
  it('reads explicit FN(name, id, ctx) ids (6.2+ headers)', () => {
    const h = '#define ___BPF_FUNC_MAPPER(FN, ctx...)\\\n\tFN(unspec, 0, ##ctx)\\\n\tFN(map_lookup_elem, 1, ##ctx)\\\n\tFN(loop, 181, ##ctx)\\\n\t/* */\n';
    expect([...parseHelperIds(h)]).toEqual([['unspec', 0], ['map_lookup_elem', 1], ['loop', 181]]);
  });
  it('rejects a header without the mapper', () => {
    expect(() => parseHelperIds('int x;')).toThrow(/MAPPER/);
  });
  it('takes prototypes only where a Description follows', () => {
    const h = [
      ' * Start of BPF helper function descriptions:',
      ' *',
      ' * u64 bpf_ktime_get_ns(void)',
      ' * \tDescription',
      ' * \t\tReturn the time, e.g. in ns. More text.',
      ' * \tReturn',
      ' * \t\tCurrent *ktime*.',
      ' *',
      ' * see bpf_foo(x) in prose',
      ' */',
    ].join('\n');
    const d = parseHelperDocs(h);
    expect([...d.keys()]).toEqual(['ktime_get_ns']);
    expect(d.get('ktime_get_ns')!.summary).toBe('Return the time, e.g. in ns.');
  });
});

describe('C constants', () => {
  it('evaluates shifts, ors, casts, suffixes and names', () => {
    const names = new Map([['A', 4n]]);
    expect(evalCExpr('(1U << 3)', (n) => names.get(n))).toBe(8n);
    expect(evalCExpr('(A | (1ULL << 32))', (n) => names.get(n))).toBe(4n | (1n << 32n));
    expect(evalCExpr('((__u64)0xffULL << 56)', () => undefined)).toBe(0xffn << 56n);
    expect(evalCExpr('-1', () => undefined)).toBe(-1n);
    expect(evalCExpr('~0 & 0xff', () => undefined)).toBe(0xffn);
    expect(() => evalCExpr('FOO + 1', () => undefined)).toThrow(/FOO/);
  });
  it('counts enums, resolves earlier names and interleaved defines', () => {
    const c = parseConstants('#define BASE 16\nenum e { X = BASE, Y, Z = Y + 2, };\nenum { P, Q = (1U << 4) };\n#define W (Z | Q)\n');
    expect(c.constants.get('Y')!.value).toBe(17n);
    expect(c.constants.get('Z')!.value).toBe(19n);
    expect(c.constants.get('W')!.value).toBe(19n | 16n);
    expect(c.enums.map((e) => e.name)).toEqual(['e', '']);
    expect(c.constants.get('Q')!.enumFirst).toBe('P');
  });
});

describe('struct layout', () => {
  it('places md-pointers on 8 bytes and honours padding bit-fields', () => {
    const s = parseStruct(
      '#define x\nstruct t {\n\t__u32 a;\n\t__bpf_md_ptr(struct bpf_sock *, sk);\n\t__u8 b;\n\t__u32 :24;\n\t__u64 c;\n\t__u32 d[3];\n};',
      't',
    );
    expect(s.fields.map((f) => [f.name, f.offset, f.size])).toEqual([['a', 0, 4], ['sk', 8, 8], ['b', 16, 1], ['c', 24, 8], ['d', 32, 12]]);
    expect(s.size).toBe(48);
    expect(() => parseStruct('struct u { float f; };', 'u')).toThrow(/unknown field type/);
  });
  it('lays anonymous union members at the union offset, sized by the largest, aligned by the widest', () => {
    const s = parseStruct('struct o {\n\t__u8 op;\n\tunion {\n\t\t__u32 args[3];\n\t\t__u64 wide;\n\t};\n\t__u16 after;\n};', 'o');
    expect(s.fields.map((f) => [f.name, f.offset, f.size, f.union ?? false])).toEqual([['op', 0, 1, false], ['args', 8, 12, true], ['wide', 8, 8, true], ['after', 24, 2, false]]);
    expect(s.size).toBe(32);
  });
});

describe('argument classification', () => {
  it('pairs memory with sizes and recognises maps, keys, values and contexts', () => {
    const a = classifyArgs('struct bpf_map *map, const void *key, void *value, u64 flags');
    expect(a.map((x) => x.type.kind)).toEqual(['map', 'mapKey', 'mapValue', 'scalar']);
    const b = classifyArgs('void *ctx, struct bpf_fib_lookup *params, int plen, u32 flags');
    expect(b.map((x) => x.type.kind)).toEqual(['ctx', 'mem', 'memSize', 'scalar']);
    expect(b[2]!.type).toMatchObject({ memArg: 1, bits: 32, signed: true });
    expect(classifyArgs('void')).toEqual([]);
    expect(classifyArgs('__be16 port')[0]!.type).toMatchObject({ kind: 'scalar', bits: 16, byteOrder: 'be' });
    expect(classifyReturn('struct bpf_sock *')).toMatchObject({ kind: 'ptr', to: 'struct bpf_sock', nullable: true });
    expect(classifyReturn('long')).toMatchObject({ kind: 'scalar', bits: 64, signed: true });
  });
});
