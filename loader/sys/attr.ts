/**
 * `union bpf_attr` members, one layout per command family, and the
 * `bpf_*_info` structs filled by BPF_OBJ_GET_INFO_BY_FD. Field names and order
 * are the UAPI's (include/uapi/linux/bpf.h as of 6.18); unions are flattened to
 * the member we use, with aliases noted.
 */
import { layout } from './layout.js';

const name16 = { bytes: 16 } as const;

/** BPF_MAP_CREATE. */
export const MapCreateAttr = layout('map_create', [
  ['map_type', 'u32'],
  ['key_size', 'u32'],
  ['value_size', 'u32'],
  ['max_entries', 'u32'],
  ['map_flags', 'u32'],
  ['inner_map_fd', 'u32'],
  ['numa_node', 'u32'],
  ['map_name', name16],
  ['map_ifindex', 'u32'],
  ['btf_fd', 'u32'],
  ['btf_key_type_id', 'u32'],
  ['btf_value_type_id', 'u32'],
  ['btf_vmlinux_value_type_id', 'u32'],
  ['map_extra', 'u64'],
  ['value_type_btf_obj_fd', 's32'],
  ['map_token_fd', 's32'],
] as const);

/** BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE. `value` aliases `next_key`. */
export const MapElemAttr = layout('map_elem', [
  ['map_fd', 'u32'],
  ['key', 'ptr'],
  ['value', 'ptr'],
  ['flags', 'u64'],
] as const);

/** BPF_MAP_*_BATCH. */
export const MapBatchAttr = layout('map_batch', [
  ['in_batch', 'ptr'],
  ['out_batch', 'ptr'],
  ['keys', 'ptr'],
  ['values', 'ptr'],
  ['count', 'u32'],
  ['map_fd', 'u32'],
  ['elem_flags', 'u64'],
  ['flags', 'u64'],
] as const);

/** BPF_PROG_LOAD. `attach_prog_fd` aliases `attach_btf_obj_fd`. */
export const ProgLoadAttr = layout('prog_load', [
  ['prog_type', 'u32'],
  ['insn_cnt', 'u32'],
  ['insns', 'ptr'],
  ['license', 'ptr'],
  ['log_level', 'u32'],
  ['log_size', 'u32'],
  ['log_buf', 'ptr'],
  ['kern_version', 'u32'],
  ['prog_flags', 'u32'],
  ['prog_name', name16],
  ['prog_ifindex', 'u32'],
  ['expected_attach_type', 'u32'],
  ['prog_btf_fd', 'u32'],
  ['func_info_rec_size', 'u32'],
  ['func_info', 'ptr'],
  ['func_info_cnt', 'u32'],
  ['line_info_rec_size', 'u32'],
  ['line_info', 'ptr'],
  ['line_info_cnt', 'u32'],
  ['attach_btf_id', 'u32'],
  ['attach_prog_fd', 'u32'],
  ['core_relo_cnt', 'u32'],
  ['fd_array', 'ptr'],
  ['core_relos', 'ptr'],
  ['core_relo_rec_size', 'u32'],
  ['log_true_size', 'u32'],
  ['prog_token_fd', 's32'],
  ['fd_array_cnt', 'u32'],
] as const);

/** BPF_OBJ_PIN / BPF_OBJ_GET. */
export const ObjAttr = layout('obj', [
  ['pathname', 'ptr'],
  ['bpf_fd', 'u32'],
  ['file_flags', 'u32'],
  ['path_fd', 's32'],
] as const);

/** BPF_PROG_ATTACH / BPF_PROG_DETACH. `target_fd` aliases `target_ifindex`; `relative_fd` aliases `relative_id`. */
export const ProgAttachAttr = layout('prog_attach', [
  ['target_fd', 'u32'],
  ['attach_bpf_fd', 'u32'],
  ['attach_type', 'u32'],
  ['attach_flags', 'u32'],
  ['replace_bpf_fd', 'u32'],
  ['relative_fd', 'u32'],
  ['expected_revision', 'u64'],
] as const);

/** BPF_PROG_TEST_RUN. */
export const TestRunAttr = layout('test', [
  ['prog_fd', 'u32'],
  ['retval', 'u32'],
  ['data_size_in', 'u32'],
  ['data_size_out', 'u32'],
  ['data_in', 'ptr'],
  ['data_out', 'ptr'],
  ['repeat', 'u32'],
  ['duration', 'u32'],
  ['ctx_size_in', 'u32'],
  ['ctx_size_out', 'u32'],
  ['ctx_in', 'ptr'],
  ['ctx_out', 'ptr'],
  ['flags', 'u32'],
  ['cpu', 'u32'],
  ['batch_size', 'u32'],
] as const);

/** BPF_*_GET_FD_BY_ID / BPF_*_GET_NEXT_ID. `start_id` aliases prog_id/map_id/btf_id/link_id. */
export const GetIdAttr = layout('get_id', [
  ['start_id', 'u32'],
  ['next_id', 'u32'],
  ['open_flags', 'u32'],
] as const);

/** BPF_OBJ_GET_INFO_BY_FD. */
export const InfoAttr = layout('info', [
  ['bpf_fd', 'u32'],
  ['info_len', 'u32'],
  ['info', 'ptr'],
] as const);

/** BPF_PROG_QUERY. `target_fd` aliases `target_ifindex`; `prog_cnt` aliases `count`. */
export const ProgQueryAttr = layout('query', [
  ['target_fd', 'u32'],
  ['attach_type', 'u32'],
  ['query_flags', 'u32'],
  ['attach_flags', 'u32'],
  ['prog_ids', 'ptr'],
  ['prog_cnt', 'u32'],
  ['prog_attach_flags', 'ptr'],
  ['link_ids', 'ptr'],
  ['link_attach_flags', 'ptr'],
  ['revision', 'u64'],
] as const);

/** BPF_BTF_LOAD. */
export const BtfLoadAttr = layout('btf_load', [
  ['btf', 'ptr'],
  ['btf_log_buf', 'ptr'],
  ['btf_size', 'u32'],
  ['btf_log_size', 'u32'],
  ['btf_log_level', 'u32'],
  ['btf_log_true_size', 'u32'],
  ['btf_flags', 'u32'],
  ['btf_token_fd', 's32'],
] as const);

/**
 * BPF_LINK_CREATE, common head plus the tcx/netkit/cgroup (6.6+) tail:
 * `relative_fd` (aliases `relative_id`, and `target_btf_id` for tracing links)
 * and `expected_revision`. `target_fd` aliases `target_ifindex`.
 */
export const LinkCreateAttr = layout('link_create', [
  ['prog_fd', 'u32'],
  ['target_fd', 'u32'],
  ['attach_type', 'u32'],
  ['flags', 'u32'],
  ['relative_fd', 'u32'],
  ['expected_revision', 'u64'],
] as const);

/**
 * BPF_LINK_CREATE with a pointer-sized first tail member (iter_info,
 * perf_event.bpf_cookie) — kept apart from LinkCreateAttr because C aligns the
 * union at offset 16 either way, and here the first member is a u64.
 */
export const LinkCreateCookieAttr = layout('link_create_cookie', [
  ['prog_fd', 'u32'],
  ['target_fd', 'u32'],
  ['attach_type', 'u32'],
  ['flags', 'u32'],
  ['bpf_cookie', 'u64'],
] as const);

/** BPF_LINK_UPDATE. */
export const LinkUpdateAttr = layout('link_update', [
  ['link_fd', 'u32'],
  ['new_prog_fd', 'u32'],
  ['flags', 'u32'],
  ['old_prog_fd', 'u32'],
] as const);

/** BPF_LINK_DETACH. */
export const LinkDetachAttr = layout('link_detach', [['link_fd', 'u32']] as const);

/** BPF_PROG_BIND_MAP. */
export const ProgBindMapAttr = layout('prog_bind_map', [
  ['prog_fd', 'u32'],
  ['map_fd', 'u32'],
  ['flags', 'u32'],
] as const);

/** struct bpf_map_info. */
export const MapInfoStruct = layout('bpf_map_info', [
  ['type', 'u32'],
  ['id', 'u32'],
  ['key_size', 'u32'],
  ['value_size', 'u32'],
  ['max_entries', 'u32'],
  ['map_flags', 'u32'],
  ['name', name16],
  ['ifindex', 'u32'],
  ['btf_vmlinux_value_type_id', 'u32'],
  ['netns_dev', 'u64'],
  ['netns_ino', 'u64'],
  ['btf_id', 'u32'],
  ['btf_key_type_id', 'u32'],
  ['btf_value_type_id', 'u32'],
  ['btf_vmlinux_id', 'u32'],
  ['map_extra', 'u64'],
] as const);

/** struct bpf_prog_info. `gpl_compatible` is bit 0 of the u32 after ifindex. */
export const ProgInfoStruct = layout('bpf_prog_info', [
  ['type', 'u32'],
  ['id', 'u32'],
  ['tag', { bytes: 8 }],
  ['jited_prog_len', 'u32'],
  ['xlated_prog_len', 'u32'],
  ['jited_prog_insns', 'ptr'],
  ['xlated_prog_insns', 'ptr'],
  ['load_time', 'u64'],
  ['created_by_uid', 'u32'],
  ['nr_map_ids', 'u32'],
  ['map_ids', 'ptr'],
  ['name', name16],
  ['ifindex', 'u32'],
  ['gpl_compatible', 'u32'],
  ['netns_dev', 'u64'],
  ['netns_ino', 'u64'],
  ['nr_jited_ksyms', 'u32'],
  ['nr_jited_func_lens', 'u32'],
  ['jited_ksyms', 'ptr'],
  ['jited_func_lens', 'ptr'],
  ['btf_id', 'u32'],
  ['func_info_rec_size', 'u32'],
  ['func_info', 'ptr'],
  ['nr_func_info', 'u32'],
  ['nr_line_info', 'u32'],
  ['line_info', 'ptr'],
  ['jited_line_info', 'ptr'],
  ['nr_jited_line_info', 'u32'],
  ['line_info_rec_size', 'u32'],
  ['jited_line_info_rec_size', 'u32'],
  ['nr_prog_tags', 'u32'],
  ['prog_tags', 'ptr'],
  ['run_time_ns', 'u64'],
  ['run_cnt', 'u64'],
  ['recursion_misses', 'u64'],
  ['verified_insns', 'u32'],
  ['attach_btf_obj_id', 'u32'],
  ['attach_btf_id', 'u32'],
] as const);

/** struct bpf_btf_info. */
export const BtfInfoStruct = layout('bpf_btf_info', [
  ['btf', 'ptr'],
  ['btf_size', 'u32'],
  ['id', 'u32'],
  ['name', 'ptr'],
  ['name_len', 'u32'],
  ['kernel_btf', 'u32'],
] as const);

/** struct bpf_link_info, common head (type-specific union follows at offset 16). */
export const LinkInfoStruct = layout('bpf_link_info', [
  ['type', 'u32'],
  ['id', 'u32'],
  ['prog_id', 'u32'],
  ['_pad', 'u32'],
  ['u0', 'u64'],
  ['u1', 'u64'],
  ['u2', 'u64'],
  ['u3', 'u64'],
  ['u4', 'u64'],
  ['u5', 'u64'],
  ['u6', 'u64'],
  ['u7', 'u64'],
] as const);
