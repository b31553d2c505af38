/**
 * The network-namespace lab: namespaces, veth pairs, a routed node with pods,
 * bounded children inside namespaces and cgroups, echo backends, private bpffs
 * pin directories, and teardown that also runs on Ctrl-C. Shared by the demo,
 * the benchmark and the end-to-end tests; everything it creates is named
 * `tsbpf-…` and lives only inside namespaces it made.
 */
export { LabError, type LabErrorCode } from './errors.js';
export { run, ip, nsRun, type RunOptions } from './exec.js';
export { LAB_PREFIX, uniqueName, createNetns, deleteNetns, listNetns, setSysctl } from './netns.js';
export { createVeth, type VethEnd } from './veth.js';
export { startChild, runChild, startServer, wrappedArgv, type ChildOptions, type ChildResult, type LabChild } from './child.js';
export { cgroup2Mount, createCgroup, type LabCgroup } from './cgroup.js';
export { createPinDir, type LabPinDir } from './bpffs.js';
export { Teardown } from './teardown.js';
export { startEchoServer, type EchoServer, type EchoServerOptions, type EchoCounts } from './echo-server.js';
export { createPodLab, POD_CIDR, POD_CIDR6, MAX_PODS, type Pod, type PodLab } from './pods.js';
