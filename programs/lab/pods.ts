/**
 * A one-node cluster in namespaces: a "node" namespace that routes between
 * pods, and one namespace per pod joined to the node by a veth pair, as a CNI
 * plugin wires pods on a Kubernetes node. Pod k (1-based) gets 10.244.k.2/24
 * and fd00:244:k::2/64 on `eth0`, the node side `podk` gets .1/::1 and is the
 * pod's default route. Every address exists only inside these namespaces.
 */
import { ip } from './exec.js';
import { LabError } from './errors.js';
import { createNetns, deleteNetns, setSysctl } from './netns.js';
import { Teardown } from './teardown.js';
import { createVeth } from './veth.js';

/** The pod CIDR of the lab (what kube-proxy calls the cluster CIDR). */
export const POD_CIDR = '10.244.0.0/16';
/** The IPv6 pod CIDR of the lab. */
export const POD_CIDR6 = 'fd00:244::/32';
/** Most pods one lab holds. */
export const MAX_PODS = 250;

/** One pod of the lab. */
export interface Pod {
  readonly name: string;
  /** Its namespace. */
  readonly ns: string;
  /** 1-based position, the third octet of its addresses. */
  readonly index: number;
  /** IPv4 address (no prefix). */
  readonly address: string;
  /** IPv6 address (no prefix). */
  readonly address6: string;
  /** The node side of its veth: name in the node namespace and the pod's gateway. */
  readonly hostIfname: string;
  readonly gateway: string;
  readonly gateway6: string;
}

/** A node namespace and its pods. */
export interface PodLab extends Disposable {
  /** The node namespace (routes between pods; "host network" processes run here). */
  readonly node: string;
  readonly pods: readonly Pod[];
  /** The pod called `name`. */
  pod(name: string): Pod;
  /** Cleanups run (newest first) when the lab is torn down, also on Ctrl-C: register the lab's servers, rules and cgroups here. */
  readonly teardown: Teardown;
  /** Deletes every namespace (and so veths, addresses, routes, netfilter rules) after running the registered cleanups. */
  cleanup(): void;
}

/** Creates the node namespace and one namespace per name in `pods`. */
export function createPodLab(options: { readonly pods: readonly string[]; readonly tag?: string }): PodLab {
  const names = options.pods;
  if (names.length === 0 || names.length > MAX_PODS) throw new LabError('LAB_INPUT', `a pod lab holds 1–${MAX_PODS} pods, not ${names.length}`);
  for (const n of names) if (!/^[a-z0-9-]{1,30}$/.test(n)) throw new LabError('LAB_INPUT', `pod name ${JSON.stringify(n)}: 1–30 of [a-z0-9-]`);
  if (new Set(names).size !== names.length) throw new LabError('LAB_INPUT', `pod names repeat: ${names.join(', ')}`);
  const tag = options.tag ?? 'lab';
  const teardown = new Teardown();
  try {
    const node = createNetns(`${tag}-node`);
    teardown.add(`delete ${node}`, () => deleteNetns(node));
    setSysctl(node, 'net.ipv4.ip_forward', 1);
    setSysctl(node, 'net.ipv6.conf.all.forwarding', 1);
    const pods = names.map((name, i): Pod => {
      const index = i + 1;
      const ns = createNetns(`${tag}-p${index}`);
      teardown.add(`delete ${ns}`, () => deleteNetns(ns));
      const pod: Pod = {
        name, ns, index,
        address: `10.244.${index}.2`, address6: `fd00:244:${index}::2`,
        hostIfname: `pod${index}`, gateway: `10.244.${index}.1`, gateway6: `fd00:244:${index}::1`,
      };
      createVeth(
        { ns, ifname: 'eth0', address: `${pod.address}/24` },
        { ns: node, ifname: pod.hostIfname, address: `${pod.gateway}/24` },
      );
      ip('-n', ns, 'addr', 'add', `${pod.address6}/64`, 'dev', 'eth0', 'nodad');
      ip('-n', node, 'addr', 'add', `${pod.gateway6}/64`, 'dev', pod.hostIfname, 'nodad');
      ip('-n', ns, 'route', 'add', 'default', 'via', pod.gateway);
      ip('-n', ns, '-6', 'route', 'add', 'default', 'via', pod.gateway6);
      return pod;
    });
    const cleanup = () => {
      const failures = teardown.run();
      if (failures.length > 0) throw new LabError('LAB_COMMAND', `lab teardown: ${failures.join('; ')}`);
    };
    const pod = (name: string) => {
      const p = pods.find((q) => q.name === name);
      if (!p) throw new LabError('LAB_INPUT', `no pod ${JSON.stringify(name)} in the lab (pods: ${names.join(', ')})`);
      return p;
    };
    return { node, pods, pod, teardown, cleanup, [Symbol.dispose]: cleanup };
  } catch (e) {
    teardown.run();
    throw e;
  }
}
