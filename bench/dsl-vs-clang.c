/*
 * The programs of bench/dsl-vs-clang.ts written in C, doing exactly what
 * examples/packet-counter.ts, examples/connect4.ts, examples/csum-rewrite.ts,
 * bench/twins/tc-dnat.ts and bench/twins/snat-ports.ts do, for an
 * instruction-count comparison with clang-19 -O2 -target bpf.
 * Self-contained (no libbpf headers): helpers are declared by id.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static long (*bpf_skb_store_bytes)(void *skb, __u32 offset, const void *from, __u32 len, __u64 flags) = (void *)9;
static long (*bpf_l3_csum_replace)(void *skb, __u32 offset, __u64 from, __u64 to, __u64 size) = (void *)10;
static long (*bpf_l4_csum_replace)(void *skb, __u32 offset, __u64 from, __u64 to, __u64 flags) = (void *)11;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;

char LICENSE[] SEC("license") = "GPL";

/* ---- packet counter ---------------------------------------------------- */

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} pkt_counters SEC(".maps");

struct eth_ip {
  __u8 dst[6], src[6];
  __be16 proto;
  __u8 ver_ihl, tos;
  __u8 ip_head[7];
  __u8 ip_proto;
};

SEC("xdp") int count_packets(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct eth_ip *h = data;
  if ((void *)(h + 1) > end) return XDP_PASS;
  if (h->proto != __builtin_bswap16(0x0800)) return XDP_PASS;
  __u32 key = h->ip_proto;
  __u64 *slot = bpf_map_lookup_elem(&pkt_counters, &key);
  if (!slot) return XDP_PASS;
  __sync_fetch_and_add(slot, 1);
  return XDP_PASS;
}

/* ---- connect4 (socket LB) ---------------------------------------------- */

struct lb4_key {
  __be32 address;
  __be16 dport;
  __u16 backend_slot;
  __u8 proto, scope;
  __u8 pad[2];
};
struct lb4_service {
  __u32 backend_id;
  __u16 count;
  __u16 rev_nat;
};
struct lb4_backend {
  __be32 address;
  __be16 port;
  __u8 proto, pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct lb4_key);
  __type(value, struct lb4_service);
} lb4_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, struct lb4_backend);
} lb4_backends SEC(".maps");

SEC("cgroup/connect4") int sock4_connect(struct bpf_sock_addr *ctx) {
  struct lb4_key key = { .address = ctx->user_ip4, .dport = (__be16)ctx->user_port };
  struct lb4_service *svc = bpf_map_lookup_elem(&lb4_services, &key);
  if (!svc) return 1;
  __u32 count = svc->count;
  if (count == 0) return 1;
  key.backend_slot = (__u16)(bpf_get_prandom_u32() % count + 1);
  struct lb4_service *slot = bpf_map_lookup_elem(&lb4_services, &key);
  if (!slot) return 1;
  struct lb4_backend *be = bpf_map_lookup_elem(&lb4_backends, &slot->backend_id);
  if (!be) return 1;
  ctx->user_ip4 = be->address;
  ctx->user_port = be->port;
  return 1;
}

/* ---- checksum rewrite -------------------------------------------------- */

struct eth {
  __u8 dst[6], src[6];
  __be16 proto;
};
struct ip4 {
  __u8 ver_ihl, tos;
  __be16 tot_len, id, frag;
  __u8 ttl, proto;
  __be16 check;
  __be32 saddr, daddr;
};

#define FROM_ADDR __builtin_bswap32(0x0a000001)
#define TO_ADDR __builtin_bswap32(0x0a000002)

SEC("tc") int csum_rewrite(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct eth *eth = data;
  if ((void *)(eth + 1) > end) return 0;
  if (eth->proto != __builtin_bswap16(0x0800)) return 0;
  struct ip4 *ip = data + 14;
  if ((void *)(ip + 1) > end) return 0;
  if (ip->daddr != FROM_ADDR) return 0;
  __be32 addr = TO_ADDR;
  bpf_skb_store_bytes(skb, 30, &addr, 4, 0);
  bpf_l3_csum_replace(skb, 24, FROM_ADDR, TO_ADDR, 4);
  return 0;
}

/* ---- tc DNAT with conntrack -------------------------------------------- */

struct tcp {
  __be16 sport, dport;
  __u32 seq, ack;
  __u16 off_flags, window;
  __be16 check;
  __u16 urg;
};
struct ct_key {
  __be32 saddr, daddr;
  __be16 sport, dport;
  __u8 proto, pad[3];
};
struct ct_entry {
  __be32 daddr;
  __be16 dport;
  __u8 pad[2];
};
struct svc_key {
  __be32 addr;
  __be16 port;
  __u8 pad[2];
};
struct svc_value {
  __be32 addr;
  __be16 port;
  __u8 pad[2];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct ct_key);
  __type(value, struct ct_entry);
} dnat_ct SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct svc_key);
  __type(value, struct svc_value);
} dnat_services SEC(".maps");

SEC("tc") int tc_dnat(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct eth *eth = data;
  if ((void *)(eth + 1) > end) return 0;
  if (eth->proto != __builtin_bswap16(0x0800)) return 0;
  struct ip4 *ip = data + 14;
  if ((void *)(ip + 1) > end) return 0;
  if (ip->proto != 6) return 0;
  struct tcp *tcp = data + 34;
  if ((void *)(tcp + 1) > end) return 0;
  __be32 old_addr = ip->daddr;
  __be16 old_port = tcp->dport;
  struct ct_key key = { .saddr = ip->saddr, .daddr = old_addr, .sport = tcp->sport, .dport = old_port, .proto = 6 };
  __be32 addr;
  __be16 port;
  struct ct_entry *e = bpf_map_lookup_elem(&dnat_ct, &key);
  if (e) {
    addr = e->daddr;
    port = e->dport;
  } else {
    struct svc_key sk = { .addr = old_addr, .port = old_port };
    struct svc_value *svc = bpf_map_lookup_elem(&dnat_services, &sk);
    if (!svc) return 0;
    addr = svc->addr;
    port = svc->port;
    struct ct_entry entry = { .daddr = svc->addr, .dport = svc->port };
    bpf_map_update_elem(&dnat_ct, &key, &entry, BPF_NOEXIST);
  }
  bpf_l4_csum_replace(skb, 50, old_addr, addr, BPF_F_PSEUDO_HDR | 4);
  bpf_l3_csum_replace(skb, 24, old_addr, addr, 4);
  bpf_skb_store_bytes(skb, 30, &addr, 4, 0);
  bpf_l4_csum_replace(skb, 50, old_port, port, 2);
  bpf_skb_store_bytes(skb, 36, &port, 2, 0);
  return 0;
}

/* ---- SNAT port search --------------------------------------------------- */

struct snat_key {
  __be32 addr;
  __be16 port;
  __u8 proto, pad;
};
struct snat_value {
  __be32 addr;
  __be16 port;
  __u8 pad[2];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct snat_key);
  __type(value, struct snat_value);
} snat_ports_map SEC(".maps");

SEC("tc") int snat_ports(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct eth *eth = data;
  if ((void *)(eth + 1) > end) return 0;
  if (eth->proto != __builtin_bswap16(0x0800)) return 0;
  struct ip4 *ip = data + 14;
  if ((void *)(ip + 1) > end) return 0;
  if (ip->proto != 6) return 0;
  struct tcp *tcp = data + 34;
  if ((void *)(tcp + 1) > end) return 0;
  struct snat_value owner = { .addr = ip->saddr, .port = tcp->sport };
  struct snat_key key = { .addr = __builtin_bswap32(0xc0a80001), .proto = 6 };
  __u32 start = bpf_get_prandom_u32();
  /* A real loop, as the DSL emits on 6.1 (clang would otherwise unroll it 16 times). */
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < 16; i++) {
    __u16 port = ((start + i) & 0x3fff) + 32768;
    key.port = __builtin_bswap16(port);
    if (bpf_map_update_elem(&snat_ports_map, &key, &owner, BPF_NOEXIST) == 0) return 0;
  }
  return 2;
}
