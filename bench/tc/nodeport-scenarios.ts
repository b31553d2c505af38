/**
 * The NodePort paths the tc ns/packet benchmark runs (IPv4, TCP): requests to
 * a local backend (DNAT + redirect to its veth) and to a remote backend (DNAT +
 * SNAT + FIB + redirect), each as a new flow (its state deleted before every
 * run) and established, and both replies. Runs happen inside a namespace that
 * plays the node's routing state (test/tc/nodeport-env.ts: BPF_PROG_TEST_RUN's
 * bpf_fib_lookup resolves in the calling thread's namespace).
 */
import type { LoadedObject } from '../../loader/object/index.js';
import { withNetns } from '../../loader/netlink/netns.js';
import { ipv4 } from '../../dsl/types/index.js';
import { setNodeConfig } from '../../programs/tc/nodeport-agent.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SnatKey4 } from '../../programs/tc/snat-schemas.js';
import { addService, NET, type Bench, type NodeNs } from '../../test/tc/nodeport-env.js';
import { packet } from '../../test/tc/nodeport-packets.js';
import type { RunOn, Scenario } from './measure.js';
import { clearState, readState, type StateEntry } from './state.js';

/** Node ports of the two measured services (one local backend, one remote). */
export const LOCAL_PORT = 30080;
export const REMOTE_PORT = 30081;
const CLIENT_PORT = 40000;
const ACK = 0x10;
const SYN = 0x02;

/** Runs inside the node namespace. */
export function runInNode(ns: NodeNs): RunOn {
  return (obj, program, data, repeat) => withNetns(ns.name, () => obj.program(program).run({ data, repeat: repeat ?? 0 }));
}

/** Writes the node configuration and the two services (plus `extra` other NodePort services) into a side. */
export function fillNodePort(obj: LoadedObject, ns: NodeNs, extra: number): void {
  setNodeConfig(obj, { nodeIp: NET.node4, ifindex: ns.ifindex, mac: NET.nodeMac, portMin: 32768, portMax: 65535 });
  const bench = { obj } as Bench;
  for (let i = 0; i < extra; i++) addService(bench, false, { revNatIndex: 2000 + i, port: 31000 + i, backends: [{ id: 2000 + i, address: NET.remote4, port: 9000 }] });
  addService(bench, false, { revNatIndex: 11, port: LOCAL_PORT, backends: [{ id: 11, address: NET.pod4, port: NET.backendPort, local: true }] });
  addService(bench, false, { revNatIndex: 21, port: REMOTE_PORT, backends: [{ id: 21, address: NET.remote4, port: NET.backendPort }] });
}

const snatKey = (saddr: string, sport: number, daddr: string, dport: number, dir: number) => SnatKey4.encode({ saddr, daddr, sport, dport, proto: 6, dir });
/** The first 8 bytes of a flow or SNAT entry are a ktime stamp. */
const STAMP = [[0, 8]] as const;

const flowEntries = (nodePort: number, snat: Uint8Array[]): StateEntry[] => [
  { map: 'np4_flows', key: snatKey(NET.client4, CLIENT_PORT, NET.node4, nodePort, SNAT_DIR_OUT), clock: STAMP },
  ...snat.map((key) => ({ map: 'snat4_map', key, clock: STAMP })),
  { map: 'neigh4_map', key: ipv4.encode(NET.client4) as Uint8Array },
];
const LOCAL_FLOW = flowEntries(LOCAL_PORT, [snatKey(NET.pod4, NET.backendPort, NET.client4, CLIENT_PORT, SNAT_DIR_IN)]);
const REMOTE_FLOW = flowEntries(REMOTE_PORT, [
  snatKey(NET.client4, CLIENT_PORT, NET.remote4, NET.backendPort, SNAT_DIR_OUT),
  snatKey(NET.remote4, NET.backendPort, NET.node4, CLIENT_PORT, SNAT_DIR_IN),
]);

const request = (dport: number, flags: number) =>
  packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: NET.client4, daddr: NET.node4, sport: CLIENT_PORT, dport, tcpFlags: flags, payload: flags === SYN ? [] : [1, 2, 3, 4, 5, 6] });
const localReply = packet({ smac: NET.podMac, dmac: NET.vethMac, saddr: NET.pod4, daddr: NET.client4, sport: NET.backendPort, dport: CLIENT_PORT, tcpFlags: ACK, payload: [6, 5, 4] });
const remoteReply = packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: NET.remote4, daddr: NET.node4, sport: NET.backendPort, dport: CLIENT_PORT, tcpFlags: ACK, payload: [6, 5, 4] });

function scenario(id: string, what: string, program: string, pkt: Uint8Array, flow: readonly StateEntry[], opened: Uint8Array | undefined): Scenario {
  return {
    id, what, program, packet: pkt, fresh: opened === undefined,
    clear: (o) => clearState(o, flow),
    state: (o) => readState(o, flow),
    setup: (o, run) => {
      if (opened) run(o, 'np4_ingress', opened);
    },
  };
}

/** The NodePort scenarios. */
export const NODEPORT_SCENARIOS: readonly Scenario[] = [
  scenario('nodeport-local-new', 'NodePort to a local backend, new flow (SYN; backend pick, flow + reverse entry + neighbour written, DNAT, redirect to the veth)', 'np4_ingress', request(LOCAL_PORT, SYN), LOCAL_FLOW, undefined),
  scenario('nodeport-local', 'NodePort to a local backend, established (ACK; sticky flow, DNAT, redirect to the veth)', 'np4_ingress', request(LOCAL_PORT, ACK), LOCAL_FLOW, request(LOCAL_PORT, SYN)),
  scenario('nodeport-local-reply', 'reply of a local backend (np4_from_pod: reverse DNAT, FIB, redirect to the client)', 'np4_from_pod', localReply, LOCAL_FLOW, request(LOCAL_PORT, SYN)),
  scenario('nodeport-remote-new', 'NodePort to a remote backend, new flow (SYN; backend pick, SNAT port allocation, DNAT + SNAT, FIB, redirect)', 'np4_ingress', request(REMOTE_PORT, SYN), REMOTE_FLOW, undefined),
  scenario('nodeport-remote', 'NodePort to a remote backend, established (ACK; sticky flow, SNAT entry, DNAT + SNAT, FIB, redirect)', 'np4_ingress', request(REMOTE_PORT, ACK), REMOTE_FLOW, request(REMOTE_PORT, SYN)),
  scenario('nodeport-remote-reply', 'reply of a remote backend (reverse SNAT + reverse DNAT, FIB, redirect to the client)', 'np4_ingress', remoteReply, REMOTE_FLOW, request(REMOTE_PORT, SYN)),
];
