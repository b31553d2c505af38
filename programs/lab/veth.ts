/** veth pairs between two of the lab's namespaces, with addresses that exist only inside them. */
import { ip } from './exec.js';
import { LabError } from './errors.js';

/** One end of a veth pair. */
export interface VethEnd {
  /** Namespace the end lives in. */
  readonly ns: string;
  /** Interface name (≤ 15 characters). */
  readonly ifname: string;
  /** Address with prefix (`10.244.1.2/24`, `fd00::2/64`), optional. */
  readonly address?: string;
}

/**
 * Creates a veth pair `a.ifname` (in `a.ns`) ↔ `b.ifname` (in `b.ns`), adds the
 * addresses and brings both ends up. The pair is created inside `a.ns`, so no
 * interface ever appears in the host namespace.
 */
export function createVeth(a: VethEnd, b: VethEnd): void {
  for (const end of [a, b])
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(end.ifname)) throw new LabError('LAB_INPUT', `interface name ${JSON.stringify(end.ifname)}: 1–15 of [A-Za-z0-9_.-]`);
  ip('-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns);
  for (const end of [a, b]) {
    if (end.address) ip('-n', end.ns, 'addr', 'add', end.address, 'dev', end.ifname, ...(end.address.includes(':') ? ['nodad'] : []));
    ip('-n', end.ns, 'link', 'set', end.ifname, 'up');
  }
}
