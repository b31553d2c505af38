/** Small C programs for the clang round-trip tests (compiled with clang-19 -O2 -g -target bpf). */

const PRELUDE = `
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
typedef unsigned int u32;
typedef unsigned long long u64;
static void *(*map_lookup)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*tail_call)(void *ctx, void *map, u32 index) = (void *)BPF_FUNC_tail_call;
char LICENSE[] SEC("license") = "GPL";
`;

/** name → C source. */
export const CLANG_PROGRAMS: Record<string, string> = {
  // Maps shared by programs of several types, a prog array with initial slots, a subprogram.
  maps_and_tail_calls: `${PRELUDE}
struct flow { u32 saddr; u32 daddr; unsigned short sport, dport; unsigned char proto; };
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 128); __type(key, struct flow); __type(value, u64); } flows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 4); __type(key, u32); __type(value, u64); } stats SEC(".maps");
static __attribute__((noinline)) int account(u32 slot) {
  u64 *v = map_lookup(&stats, &slot);
  if (!v) return 0;
  *v += 1;
  return (int)*v;
}
SEC("tc") int tail_a(struct __sk_buff *skb) { return account(1) & 1; }
SEC("tc") int tail_b(struct __sk_buff *skb) { return account(2) & 1; }
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 8); __uint(key_size, 4); __uint(value_size, 4);
  __array(values, int (void *)); } jumps SEC(".maps") = { .values = { [2] = (void *)&tail_a, [5] = (void *)&tail_b } };
SEC("tc") int entry(struct __sk_buff *skb) {
  struct flow f = { .saddr = skb->ifindex, .daddr = skb->protocol, .proto = 6 };
  u64 *seen = map_lookup(&flows, &f);
  if (seen) *seen += skb->len;
  account(0);
  tail_call(skb, &jumps, skb->mark & 7);
  return 0;
}
SEC("xdp") int xdp_count(struct xdp_md *ctx) { return account(3) ? 2 : 1; }
`,
  // Globals in .rodata, .data and .bss, statics, and a map-in-map.
  globals_and_inner_maps: `${PRELUDE}
const volatile u32 threshold = 42;
const volatile u64 table[4] = { 1, 2, 3, 4 };
u32 toggles = 5;
static u64 private_counter;
u64 events;
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, u32); __type(value, u64); } inner_a SEC(".maps"), inner_b SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 4); __type(key, u32); __array(values, struct inner); } outer SEC(".maps") = { .values = { &inner_a, [3] = &inner_b } };
SEC("cgroup/connect4") int on_connect(struct bpf_sock_addr *ctx) {
  __sync_fetch_and_add(&events, 1);
  private_counter += table[ctx->user_port & 3];
  if (ctx->user_port == threshold) toggles ^= 1;
  u32 k = 0;
  void *m = map_lookup(&outer, &k);
  if (m) { u64 *v = map_lookup(m, &k); if (v) *v += private_counter; }
  return 1;
}
SEC("xdp") int xdp_pass(struct xdp_md *ctx) { return toggles ? 2 : 1; }
`,
  // String literals (no symbols, in .rodata.str1.1) and function-local statics (\`x.fmt\`).
  strings_and_statics: `${PRELUDE}
static long (*trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)BPF_FUNC_trace_printk;
static const char banner[] = "tsbpf";
SEC("xdp") int say(struct xdp_md *ctx) {
  static const char fmt[] = "ifindex %d\\n";
  trace_printk(fmt, sizeof(fmt), ctx->ingress_ifindex);
  trace_printk("literal %d\\n", 12, 1);
  trace_printk(banner, sizeof(banner));
  return 2;
}
`,
  // kfunc calls (externs in .ksyms).
  kfuncs: `${PRELUDE}
extern void bpf_rcu_read_lock(void) __attribute__((section(".ksyms")));
extern void bpf_rcu_read_unlock(void) __attribute__((section(".ksyms")));
SEC("xdp") int guarded(struct xdp_md *ctx) { bpf_rcu_read_lock(); bpf_rcu_read_unlock(); return 2; }
`,
  // Several programs in one section and a global (non-static) subprogram with typed args.
  shared_section: `${PRELUDE}
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, u32); __uint(pinning, 1); } pinned_cfg SEC(".maps");
__attribute__((noinline)) int global_helper(u32 x) { return x > 10 ? 2 : 1; }
SEC("xdp") int xdp_one(struct xdp_md *ctx) { return global_helper(ctx->ingress_ifindex); }
SEC("xdp") int xdp_two(struct xdp_md *ctx) {
  u32 k = ctx->rx_queue_index;
  u32 *v = map_lookup(&pinned_cfg, &k);
  return v ? global_helper(*v) : 2;
}
`,
};
