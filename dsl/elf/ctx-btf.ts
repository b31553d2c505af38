/**
 * The BTF type of a program's context argument. The verifier matches the
 * pointee's struct name against the program type's context (`btf_get_prog_ctx_type`);
 * with `void *ctx` it logs "arg#0 reference type('UNKNOWN ') size cannot be
 * determined". So an entry program gets `struct <ctx> *ctx`, the struct written
 * from the context layouts in dsl/kernel (pointer members as 64-bit slots, as the
 * UAPI's `__bpf_md_ptr` unions are laid out). Program types whose context layout
 * is not known here keep `void *`.
 */
import type { BtfBuilder, BtfTypeId } from '../btf/index.js';
import { CTX_STRUCT_LAYOUTS, sectionDef, type ProgTypeName } from '../kernel/index.js';

/** The context struct (by UAPI name) of each program type whose layout dsl/kernel has. */
const CTX_OF_PROG: Partial<Record<ProgTypeName, keyof typeof CTX_STRUCT_LAYOUTS>> = {
  SOCKET_FILTER: '__sk_buff', SCHED_CLS: '__sk_buff', SCHED_ACT: '__sk_buff', CGROUP_SKB: '__sk_buff',
  LWT_IN: '__sk_buff', LWT_OUT: '__sk_buff', LWT_XMIT: '__sk_buff', LWT_SEG6LOCAL: '__sk_buff', SK_SKB: '__sk_buff',
  XDP: 'xdp_md', CGROUP_SOCK_ADDR: 'bpf_sock_addr', CGROUP_SOCK: 'bpf_sock', SOCK_OPS: 'bpf_sock_ops', SK_MSG: 'sk_msg_md',
};

/** Name of the context struct for SEC `section`, or undefined when the writer keeps `void *`. */
export function ctxStructOfSection(section: string): keyof typeof CTX_STRUCT_LAYOUTS | undefined {
  let progType: ProgTypeName;
  try {
    progType = sectionDef(section).progType as ProgTypeName;
  } catch {
    return undefined;
  }
  return CTX_OF_PROG[progType];
}

/** `struct <name> *` for SEC `section`'s context (built once per struct), or `void *`. */
export function ctxParamType(builder: BtfBuilder, section: string): BtfTypeId {
  const name = ctxStructOfSection(section);
  if (!name) return builder.ptr(0);
  const existing = builder.findByName(name, 'struct');
  if (existing !== undefined) return builder.ptr(existing);
  const layout = CTX_STRUCT_LAYOUTS[name];
  const u32 = builder.int('__u32', 4);
  const u64 = builder.int('__u64', 8);
  const typeOf = (f: (typeof layout.fields)[number]) => {
    const count = 'count' in f ? f.count : undefined;
    const elem = (count ? f.size / count : f.size) === 8 ? u64 : u32;
    return count ? builder.array(elem, count) : elem;
  };
  // Members of the UAPI's anonymous unions (sock_ops args/reply/replylong) go into one anonymous union.
  const members: { name: string; type: BtfTypeId; offset: number }[] = [];
  for (let k = 0; k < layout.fields.length; ) {
    const f = layout.fields[k]!;
    if (!('union' in f)) {
      members.push({ name: f.name, type: typeOf(f), offset: f.offset });
      k++;
      continue;
    }
    const group = layout.fields.slice(k).filter((g, j, all) => 'union' in g && g.offset === f.offset && all.slice(0, j).every((h) => 'union' in h && h.offset === f.offset));
    const size = Math.max(...group.map((g) => g.size));
    members.push({ name: '', type: builder.union('', size, group.map((g) => ({ name: g.name, type: typeOf(g), offset: 0 }))), offset: f.offset });
    k += group.length;
  }
  return builder.ptr(builder.struct(name, layout.size, members));
}
