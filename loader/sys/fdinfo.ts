/**
 * What kind of BPF object an fd refers to, from /proc/self/fdinfo — the one
 * reliable way: BPF_OBJ_GET_INFO_BY_FD happily fills a map-info buffer from a
 * program fd, so it cannot tell them apart.
 */
import { readFileSync } from 'node:fs';

/** Kinds of BPF objects an fd (or a pin) can be. */
export type BpfObjectKind = 'map' | 'prog' | 'link' | 'btf' | 'unknown';

/** The kind of BPF object behind `fd`. */
export function bpfObjectKind(fd: number): BpfObjectKind {
  let text: string;
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    return 'unknown';
  }
  if (/^map_type:/m.test(text)) return 'map';
  if (/^prog_type:/m.test(text)) return 'prog';
  if (/^link_type:/m.test(text)) return 'link';
  if (/^btf_id:/m.test(text) && !/^(map|prog)_type:/m.test(text)) return 'btf';
  return 'unknown';
}
