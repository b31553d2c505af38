/**
 * Facts of the verifier that do not vary with the target profile: the stack
 * size, and the helpers after which packet pointers are invalid
 * (`bpf_helper_changes_pkt_data` in kernel/bpf/core.c / net/core/filter.c).
 */
import type { HelperName } from './enums.js';

/** Stack bytes of one BPF function frame (MAX_BPF_STACK); also the limit of a whole bpf-to-bpf call chain. */
export const MAX_STACK_BYTES = 512;

/** Helpers after which the verifier forgets packet pointers. */
export const PACKET_CHANGING_HELPERS: ReadonlySet<HelperName> = new Set<HelperName>([
  'skb_store_bytes', 'l3_csum_replace', 'l4_csum_replace', 'skb_vlan_push', 'skb_vlan_pop', 'skb_change_proto', 'skb_change_type',
  'skb_change_tail', 'skb_change_head', 'skb_pull_data', 'skb_adjust_room', 'xdp_adjust_head', 'xdp_adjust_tail', 'xdp_adjust_meta',
  'clone_redirect', 'msg_pull_data', 'msg_push_data', 'msg_pop_data', 'lwt_push_encap', 'lwt_seg6_store_bytes', 'lwt_seg6_adjust_srh', 'lwt_seg6_action',
]);
