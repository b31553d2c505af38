/**
 * The ClusterIP paths the tc ns/packet benchmark runs, each as a crafted frame
 * plus the map state it needs: a request of a new flow (its conntrack entries
 * deleted before every run), a request of an established flow, and the reply
 * from the backend. Both sides get the same service tables and the same state.
 */
import { u16, u32 } from '../../dsl/types/index.js';
import type { LoadedObject } from '../../loader/object/index.js';
import { Backend4, RevNat4, ServiceEntry, ServiceKey4 } from '../../programs/lb/schemas.js';
import { CT_OUT, CT_RELATED, CT_SERVICE, CtKey4 } from '../../programs/tc/conntrack-schemas.js';
import { ACK, l4Frame, SYN } from '../../test/tc/clusterip-packets.js';
import type { Scenario } from './measure.js';
import { clearState, readState, type StateEntry } from './state.js';

/** The measured service: one backend, so both sides pick the same one. */
export const CLIENT = { addr: '10.0.0.2', port: 40000 };
export const VIP = { addr: '10.96.0.10', port: 80, revNatIndex: 7 };
export const BACKEND = { id: 1, addr: '10.0.1.5', port: 8080 };

const ctKey = (saddr: string, sport: number, daddr: string, dport: number, flags: number) =>
  CtKey4.encode({ saddr, daddr, sport, dport, nexthdr: 6, flags });

/** CtEntry bytes that depend on the clock: lifetime (32..36) and created (48..52). */
const CT_CLOCK = [[32, 36], [48, 52]] as const;
/** The flow's conntrack entries (service entry before DNAT, egress and related after). */
export const FLOW: readonly StateEntry[] = [
  ctKey(CLIENT.addr, CLIENT.port, VIP.addr, VIP.port, CT_SERVICE),
  ctKey(CLIENT.addr, CLIENT.port, BACKEND.addr, BACKEND.port, CT_OUT),
  ctKey(CLIENT.addr, CLIENT.port, BACKEND.addr, BACKEND.port, CT_RELATED),
].map((key) => ({ map: 'tc_ct4', key, clock: CT_CLOCK }));

const syn = l4Frame(CLIENT.addr, VIP.addr, { proto: 'tcp', sport: CLIENT.port, dport: VIP.port, flags: SYN });
const ack = l4Frame(CLIENT.addr, VIP.addr, { proto: 'tcp', sport: CLIENT.port, dport: VIP.port, flags: ACK, payload: [1, 2, 3, 4, 5, 6] });
const reply = l4Frame(BACKEND.addr, CLIENT.addr, { proto: 'tcp', sport: BACKEND.port, dport: CLIENT.port, flags: ACK, payload: [6, 5, 4, 3, 2, 1] }, true);

/** The ClusterIP scenarios. */
const PROGRAM = 'tc_clusterip';
const base = { program: PROGRAM, clear: (o: LoadedObject) => clearState(o, FLOW), state: (o: LoadedObject) => readState(o, FLOW) };
const afterSyn = (o: LoadedObject, run: Parameters<Scenario['setup']>[1]) => void run(o, PROGRAM, syn);
export const CLUSTERIP_SCENARIOS: readonly Scenario[] = [
  { ...base, id: 'clusterip-request-new', what: 'ClusterIP request, new flow (SYN; service lookup, backend pick, DNAT, 3 CT entries created)', packet: syn, fresh: true, setup: () => {} },
  { ...base, id: 'clusterip-request-established', what: 'ClusterIP request, established flow (ACK; sticky backend, DNAT, CT accounting)', packet: ack, fresh: false, setup: afterSyn },
  { ...base, id: 'clusterip-reply', what: 'ClusterIP reply (backend → client; reverse NAT to the VIP)', packet: reply, fresh: false, setup: afterSyn },
];

/**
 * Fills a side's service tables: the measured service (VIP → `backend`) plus
 * `extra` others numbered from `firstExtra` (each with one backend of its own),
 * so lookups hit a populated hash table.
 */
export function fillServices(obj: LoadedObject, extra: number, backend: { addr: string; port: number } = BACKEND, firstExtra = 0): void {
  const services = obj.map('lb4_services');
  const backends = obj.map('lb4_backends');
  const revNat = obj.map('lb4_reverse_nat');
  const add = (vip: string, port: number, revNatIndex: number, backendId: number, addr: string, bport: number) => {
    const key = (slot: number) => ServiceKey4.encode({ address: vip, port, backendSlot: slot, proto: 6, scope: 0 });
    services.set(key(0), ServiceEntry.encode({ backendId: 0, count: 1, revNatIndex, flags: 0, flags2: 0 }));
    services.set(key(1), ServiceEntry.encode({ backendId, count: 1, revNatIndex, flags: 0, flags2: 0 }));
    backends.set(u32.encode(backendId), Backend4.encode({ address: addr, port: bport, proto: 6, flags: 0 }));
    revNat.set(u16.encode(revNatIndex), RevNat4.encode({ address: vip, port }));
  };
  for (let i = firstExtra; i < firstExtra + extra; i++) {
    const n = i + 1;
    add(`10.97.${(n >> 8) & 0xff}.${n & 0xff}`, 80, 1000 + i, 1000 + i, `10.1.${(n >> 8) & 0xff}.${n & 0xff}`, 8080);
  }
  add(VIP.addr, VIP.port, VIP.revNatIndex, BACKEND.id, backend.addr, backend.port);
}
