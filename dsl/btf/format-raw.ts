/**
 * The "raw" listing of a type graph, in the layout `bpftool btf dump ... format
 * raw` prints (one `[id] KIND 'name' …` line per type, members indented), so
 * the two can be diffed line by line.
 */
import type { Btf } from './graph.js';
import type { BtfType, BtfTypeId } from './types.js';

const INT_ENCODING_NAMES = { unsigned: '(none)', signed: 'SIGNED', char: 'CHAR', bool: 'BOOL' } as const;

function q(name: string): string {
  return `'${name === '' ? '(anon)' : name}'`;
}

/** One type's raw lines (the header line plus indented member lines). */
export function formatBtfRawType(graph: Btf, id: BtfTypeId, t: BtfType): string[] {
  const head = `[${id}] ${t.kind.toUpperCase()} ${q(t.name)}`;
  switch (t.kind) {
    case 'int':
      return [`${head} size=${t.size} bits_offset=${t.offset} nr_bits=${t.bits} encoding=${INT_ENCODING_NAMES[t.encoding]}`];
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'type_tag':
      return [`${head} type_id=${t.type}`];
    case 'array':
      return [`${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`];
    case 'struct':
    case 'union':
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) => `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`,
        ),
      ];
    case 'enum':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${v.value}`),
      ];
    case 'enum64':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${v.value}${t.signed ? 'LL' : 'ULL'}`),
      ];
    case 'fwd':
      return [`${head} fwd_kind=${t.fwdKind}`];
    case 'func':
      return [`${head} type_id=${t.type} linkage=${t.linkage}`];
    case 'func_proto':
      return [
        `${head} ret_type_id=${t.returnType} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`),
      ];
    case 'var':
      return [`${head} type_id=${t.type}, linkage=${t.linkage}`];
    case 'datasec':
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (VAR ${q(graph.get(v.type)?.name ?? '')})`),
      ];
    case 'float':
      return [`${head} size=${t.size}`];
    case 'decl_tag':
      return [`${head} type_id=${t.type} component_idx=${t.componentIdx}`];
  }
}

/** The whole graph's own types as raw lines (ids from `firstId`). */
export function formatBtfRaw(graph: Btf): string {
  const lines: string[] = [];
  for (const { id, type } of graph.entries()) lines.push(...formatBtfRawType(graph, id, type));
  return lines.join('\n') + (lines.length ? '\n' : '');
}
