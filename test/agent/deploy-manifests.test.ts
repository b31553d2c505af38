/**
 * The deploy/ manifests hold together: the DaemonSet runs in the host network,
 * privileged, with the host's bpffs and cgroup2 mounted where its arguments
 * point, its node name from the downward API, health probes on the port it
 * listens on, and only flags `tsbpf agent` really has; the RBAC grants exactly
 * list/watch/get on Services and EndpointSlices to the service account the
 * DaemonSet uses.
 */
import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../cli/main.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const load = (f: string): any[] => loadAllYaml(readFileSync(new URL(`../../deploy/${f}`, import.meta.url), 'utf8'));

describe('deploy manifests', () => {
  const [ds] = load('agent-daemonset.yaml');
  const rbac = load('rbac.yaml');
  const pod = ds.spec.template.spec;
  const agent = pod.containers.find((c: any) => c.name === 'agent');
  const args: string[] = agent.args;
  const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];

  it('DaemonSet: host network, privileged, node name from spec.nodeName', () => {
    expect(ds.kind).toBe('DaemonSet');
    expect(pod.hostNetwork).toBe(true);
    expect(agent.securityContext.privileged).toBe(true);
    expect(agent.env.find((e: any) => e.name === 'K8S_NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(agent.command).toEqual(['tsbpf', 'agent']);
  });

  it('mounts the host bpffs at the pin directory and the host cgroup2 root at --cgroup', () => {
    const mountOf = (path: string) => agent.volumeMounts.find((m: any) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
    const volume = (name: string) => pod.volumes.find((v: any) => v.name === name);
    const pin = mountOf(arg('pin')!);
    expect(volume(pin.name).hostPath.path).toBe('/sys/fs/bpf');
    const cg = mountOf(arg('cgroup')!);
    expect(volume(cg.name).hostPath.path).toBe('/sys/fs/cgroup');
    const init = pod.initContainers[0];
    expect(init.volumeMounts[0].mountPropagation).toBe('Bidirectional');
    expect(init.command.join(' ')).toContain('mount -t bpf bpf /sys/fs/bpf');
  });

  it('probes /healthz on the port the agent listens on', () => {
    const port = Number(arg('listen')!.split(':').pop());
    expect(agent.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port });
    expect(agent.readinessProbe.httpGet).toMatchObject({ path: '/healthz', port });
  });

  it('passes only options tsbpf agent has', () => {
    const cmd = createProgram().commands.find((c) => c.name() === 'agent')!;
    const known = new Set(cmd.options.map((o) => o.long));
    for (const a of args) expect(known, a).toContain(a.split('=')[0]);
  });

  it('RBAC: the DaemonSet account may get/list/watch Services and EndpointSlices, nothing more', () => {
    const sa = rbac.find((o) => o.kind === 'ServiceAccount');
    const role = rbac.find((o) => o.kind === 'ClusterRole');
    const binding = rbac.find((o) => o.kind === 'ClusterRoleBinding');
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(sa.metadata.namespace).toBe(ds.metadata.namespace);
    const grants = role.rules.flatMap((r: any) => r.resources.map((res: string) => `${r.apiGroups.join(',')}/${res}:${[...r.verbs].sort().join(',')}`));
    expect(grants.sort()).toEqual(['/nodes:get', '/services:get,list,watch', 'discovery.k8s.io/endpointslices:get,list,watch']);
  });
});
