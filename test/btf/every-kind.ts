/** A type set covering every BTF kind and flag, shared by the round-trip, kernel and fuzz tests. */
import { BtfBuilder } from '../../dsl/btf/index.js';

/** A builder holding at least one type of every kind, with every flag variant. */
export function everyKind(options: { externs?: boolean; tagAttributes?: boolean } = {}): BtfBuilder {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const s8 = b.int('signed char', 1, 'signed');
  const ch = b.int('char', 1, 'char');
  const bool = b.int('_Bool', 1, 'bool');
  const odd = b.add({ kind: 'int', name: 'u24', size: 4, encoding: 'unsigned', bits: 24, offset: 4 });
  const node = b.reserve();
  const nodePtr = b.ptr(node);
  b.define(node, {
    kind: 'struct', name: 'node', size: 16,
    members: [
      { name: 'next', type: nodePtr, bitOffset: 0, bitfieldSize: 0 },
      { name: 'a', type: u32, bitOffset: 64, bitfieldSize: 3 },
      { name: 'b', type: u32, bitOffset: 67, bitfieldSize: 29 },
      { name: '', type: s8, bitOffset: 96, bitfieldSize: 0 },
    ],
  });
  const arr = b.array(ch, 16);
  b.union('u', 16, [{ name: 'raw', type: arr, offset: 0 }, { name: 'n', type: node, offset: 0 }]);
  b.enum('color', [{ name: 'RED', value: 0 }, { name: 'BLUE', value: 0xffffffff }]);
  b.enum('sgn', [{ name: 'NEG', value: -5 }, { name: 'POS', value: 7 }]);
  b.enum64('big', [{ name: 'HUGE', value: 0xffffffffffffffffn }, { name: 'ONE', value: 1n }]);
  b.enum64('sbig', [{ name: 'MIN', value: -(1n << 63n) }]);
  b.fwd('later');
  b.fwd('lateru', 'union');
  const td = b.typedef('u32_t', u32);
  const cv = b.const(b.volatile(td));
  b.restrict(b.ptr(cv));
  b.float('double', 8);
  const proto = b.funcProto(u32, [{ name: 'x', type: bool }, { name: '', type: 0 }]);
  const fn = b.func('f', proto, 'global');
  b.func('g', proto, 'static');
  if (options.externs ?? true) b.func('kf', proto, 'extern');
  const v1 = b.variable('counter', u32, 'global');
  const v2 = b.variable('cfg', odd, 'static');
  if (options.externs ?? true) b.variable('ext', u32, 'extern');
  b.datasec('.data', 16, [{ type: v2, offset: 8, size: 4 }, { type: v1, offset: 0, size: 4 }]);
  b.declTag('tag', fn, -1);
  b.declTag('ptag', fn, 0);
  b.add({ kind: 'decl_tag', name: 'attr', type: node, componentIdx: 1, attribute: options.tagAttributes ?? true });
  b.ptr(b.typeTag('user', u32));
  b.ptr(b.add({ kind: 'type_tag', name: 'rcu', type: u32, attribute: options.tagAttributes ?? true }));
  return b;
}

