// XDP program with a hash map, an array map, a bounded loop and a static subprogram.
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u32);
} table SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;

volatile const __u32 limit = 12;
__u64 hits;

static __attribute__((noinline)) __u32 mix(__u32 x, __u32 y) {
  x ^= y << 7;
  x *= 0x9e3779b1;
  return x ^ (x >> 16);
}

SEC("xdp") int count_packets(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u32 h = 0;
  for (int i = 0; i < 16 && i < limit; i++) {
    unsigned char *p = data + i;
    if ((void *)(p + 1) > end) break;
    h = mix(h, *p);
  }
  __u32 slot = h & 15;
  __u32 *t = bpf_map_lookup_elem(&table, &slot);
  if (t) h += *t;
  __u64 *v = bpf_map_lookup_elem(&counts, &h);
  if (v) {
    __sync_fetch_and_add(v, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&counts, &h, &one, 0);
  }
  hits++;
  return (h & 1) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
