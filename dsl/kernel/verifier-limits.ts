/**
 * Facts of the verifier that do not vary with the target profile (the
 * packet-changing helpers are in packet-helpers.ts).
 */

/** Stack bytes of one BPF function frame (MAX_BPF_STACK); also the limit of a whole bpf-to-bpf call chain. */
export const MAX_STACK_BYTES = 512;
