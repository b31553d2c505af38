/**
 * Helpers after which the verifier forgets every packet pointer (the kernel's
 * `bpf_helper_changes_pkt_data()` list): they may move or resize packet data.
 */
import { BpfFunc, type HelperName } from './enums.js';

/** Names (without `bpf_`) of the helpers that change packet data. */
export const PACKET_CHANGING_HELPERS: ReadonlySet<string> = new Set<HelperName>([
  'skb_store_bytes', 'l3_csum_replace', 'l4_csum_replace', 'skb_vlan_push', 'skb_vlan_pop', 'skb_change_proto', 'skb_change_type',
  'skb_change_tail', 'skb_change_head', 'skb_pull_data', 'skb_adjust_room', 'xdp_adjust_head', 'xdp_adjust_tail', 'xdp_adjust_meta',
  'clone_redirect', 'msg_pull_data', 'msg_push_data', 'msg_pop_data', 'lwt_push_encap', 'lwt_seg6_store_bytes', 'lwt_seg6_adjust_srh', 'lwt_seg6_action',
]);

/** Helper ids of {@link PACKET_CHANGING_HELPERS}. */
export const PACKET_CHANGING_HELPER_IDS: ReadonlySet<number> = new Set(
  [...PACKET_CHANGING_HELPERS].map((n) => (BpfFunc as Record<string, number>)[n]).filter((id): id is number => typeof id === 'number'),
);
