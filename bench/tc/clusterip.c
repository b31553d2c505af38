/*
 * The C twin of programs/tc/clusterip.ts (`tc_clusterip`) for bench/tc.ts:
 * the pod-side ClusterIP datapath for IPv4 TCP/UDP, written with the same map
 * layouts (programs/lb/schemas.ts, programs/tc/conntrack-schemas.ts; checked
 * against the tsbpf object's map sizes by the bench), the same algorithm and
 * the same helpers, for a ns/packet comparison under clang-19 -O2.
 *
 * Scope: what the benchmarked packets execute — reply (reverse NAT, hairpin),
 * service lookup with sticky/random backend selection, DNAT, conntrack
 * (SERVICE/OUT/RELATED entries, TCP state, lifetimes). IPv6 and ICMP errors
 * are passed untouched here (the tsbpf program handles them; the bench never
 * sends them), which only spares this twin a few untaken comparisons.
 * Session affinity (SERVICE_FLAG_AFFINITY, lb4_affinity) is not in this twin:
 * the bench's services have none, so the tsbpf side only tests the flag and
 * both sides' outputs stay identical.
 * Self-contained (no libbpf headers): helpers are declared by id.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define INLINE static __attribute__((always_inline)) inline

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static long (*bpf_skb_store_bytes)(void *skb, __u32 offset, const void *from, __u32 len, __u64 flags) = (void *)9;
static long (*bpf_l3_csum_replace)(void *skb, __u32 offset, __u64 from, __u64 to, __u64 size) = (void *)10;
static long (*bpf_l4_csum_replace)(void *skb, __u32 offset, __u64 from, __u64 to, __u64 flags) = (void *)11;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *)26;

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define PROTO_TCP 6
#define PROTO_UDP 17
#define CT_OUT 0
#define CT_RELATED 2
#define CT_SERVICE 4
#define CT_F_RX_CLOSING 1
#define CT_F_TX_CLOSING 2
#define CT_F_LB_LOOPBACK 4
#define CT_F_SEEN_NON_SYN 8
#define CLOSING (CT_F_RX_CLOSING | CT_F_TX_CLOSING)
#define LIFETIME_TCP (6 * 3600)
#define LIFETIME_SYN 60
#define LIFETIME_NONTCP 60
#define LIFETIME_CLOSE 10
#define TCP_FIN 1
#define TCP_SYN 2
#define TCP_RST 4
#define DROP_NO_BACKEND 1
#define DROP_BACKEND_MISSING 2
#define DROP_CT_CREATE 3
#define F_PSEUDO_HDR 0x10
#define F_MARK_MANGLED_0 0x20
#define SADDR_OFF 26
#define DADDR_OFF 30
#define IP_CSUM_OFF 24
#define L4_OFF 34
/* 169.254.42.1, the hairpin source (HAIRPIN_IPV4). */
#define HAIRPIN_ADDR __builtin_bswap32(0xa9fe2a01)

struct lb4_key { __be32 address; __be16 port; __u16 backend_slot; __u8 proto, scope, pad[2]; };
struct lb_service { __u32 backend_id; __u16 count, rev_nat_index; __u8 flags, flags2, pad[2]; };
struct lb4_backend { __be32 address; __be16 port; __u8 proto, flags; };
struct lb4_reverse_nat { __be32 address; __be16 port; __u8 pad[2]; };
struct ct4_key { __be32 daddr, saddr; __be16 dport, sport; __u8 nexthdr, flags; } __attribute__((packed));
struct ct_entry {
  __u64 rx_packets, rx_bytes, tx_packets, tx_bytes;
  __u32 lifetime, backend_id;
  __u16 rev_nat_index, flags;
  __u8 tx_flags_seen, rx_flags_seen, pad[2];
  __u32 created;
  __u8 pad2[4];
};
_Static_assert(sizeof(struct lb4_key) == 12, "lb4_key");
_Static_assert(sizeof(struct lb_service) == 12, "lb_service");
_Static_assert(sizeof(struct lb4_backend) == 8, "lb4_backend");
_Static_assert(sizeof(struct lb4_reverse_nat) == 8, "lb4_reverse_nat");
_Static_assert(sizeof(struct ct4_key) == 14, "ct4_key");
_Static_assert(sizeof(struct ct_entry) == 56, "ct_entry");

struct iphdr4 { __u8 ver_ihl, tos; __be16 tot_len, id, frag; __u8 ttl, proto; __be16 check; __be32 saddr, daddr; };
struct tcphdr4 { __be16 sport, dport; __be32 seq, ack; __u8 doff, flags; __be16 window, check, urg; };
struct ports { __be16 sport, dport; };
struct eth_addrs { __u8 dst[6], src[6]; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, struct lb4_key); __type(value, struct lb_service); } lb4_services SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, __u32); __type(value, struct lb4_backend); } lb4_backends SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, __u16); __type(value, struct lb4_reverse_nat); } lb4_reverse_nat SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 262144); __type(key, struct ct4_key); __type(value, struct ct_entry); } tc_ct4 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } tc_drop_reasons SEC(".maps");

/* The facts about the packet conntrack needs (CtPacket). */
struct pkt { __u8 nexthdr, tcp_flags; __u32 len, now; };

INLINE int drop_with(__u32 reason) {
  __u64 *n = bpf_map_lookup_elem(&tc_drop_reasons, &reason);
  if (n) *n += 1;
  return TC_ACT_SHOT;
}

/* ctAccount: counters, seen flags, TCP state and lifetime. */
INLINE void ct_account(struct ct_entry *e, int tx, const struct pkt *p, int atomic) {
  if (atomic) {
    __sync_fetch_and_add(tx ? &e->tx_packets : &e->rx_packets, 1);
    __sync_fetch_and_add(tx ? &e->tx_bytes : &e->rx_bytes, (__u64)p->len);
  } else if (tx) {
    e->tx_packets += 1;
    e->tx_bytes += p->len;
  } else {
    e->rx_packets += 1;
    e->rx_bytes += p->len;
  }
  if (p->nexthdr == PROTO_TCP) {
    if (tx) e->tx_flags_seen |= p->tcp_flags; else e->rx_flags_seen |= p->tcp_flags;
    __u16 flags = e->flags;
    if (p->tcp_flags & TCP_RST) flags |= CLOSING;
    else if (p->tcp_flags & TCP_FIN) flags |= tx ? CT_F_TX_CLOSING : CT_F_RX_CLOSING;
    else if ((p->tcp_flags & TCP_SYN) && (flags & CLOSING)) {
      flags &= ~(CLOSING | CT_F_SEEN_NON_SYN);
      e->tx_flags_seen = tx ? p->tcp_flags : 0;
      e->rx_flags_seen = tx ? 0 : p->tcp_flags;
    }
    if (!(p->tcp_flags & TCP_SYN)) flags |= CT_F_SEEN_NON_SYN;
    e->flags = flags;
    if ((flags & CLOSING) == CLOSING) e->lifetime = p->now + LIFETIME_CLOSE;
    else if (flags & CT_F_SEEN_NON_SYN) e->lifetime = p->now + LIFETIME_TCP;
    else e->lifetime = p->now + LIFETIME_SYN;
  } else {
    e->lifetime = p->now + LIFETIME_NONTCP;
  }
}

struct ct_found { __u8 found; __u16 rev_nat_index, flags; __u32 backend_id; };

/* ctLookup: a live entry is accounted and copied out; an expired one counts as absent. */
INLINE struct ct_found ct_lookup(struct ct4_key *key, int tx, const struct pkt *p) {
  struct ct_found r = {};
  struct ct_entry *e = bpf_map_lookup_elem(&tc_ct4, key);
  if (e && e->lifetime >= p->now) {
    ct_account(e, tx, p, 1);
    r.found = 1;
    r.rev_nat_index = e->rev_nat_index;
    r.backend_id = e->backend_id;
    r.flags = e->flags;
  }
  return r;
}

/* ctCreate: a new entry in the original direction, written with BPF_ANY. */
INLINE long ct_create(struct ct4_key *key, struct ct_entry *entry, __u16 rev_nat, __u32 backend_id, __u16 flags, const struct pkt *p) {
  __builtin_memset(entry, 0, sizeof(*entry));
  entry->created = p->now;
  entry->rev_nat_index = rev_nat;
  entry->backend_id = backend_id;
  entry->flags = flags;
  ct_account(entry, 1, p, 0);
  return bpf_map_update_elem(&tc_ct4, key, entry, BPF_ANY);
}

INLINE void nat_addr(struct __sk_buff *skb, __u32 csum_off, __u64 udp, __u32 addr_off, __be32 from, __be32 to) {
  bpf_l4_csum_replace(skb, csum_off, from, to, (udp * F_MARK_MANGLED_0) | F_PSEUDO_HDR | 4);
  bpf_l3_csum_replace(skb, IP_CSUM_OFF, from, to, 4);
  __be32 bytes = to;
  bpf_skb_store_bytes(skb, addr_off, &bytes, 4, 0);
}

INLINE void nat_port(struct __sk_buff *skb, __u32 csum_off, __u64 udp, __u32 port_off, __be16 from, __be16 to) {
  bpf_l4_csum_replace(skb, csum_off, from, to, (udp * F_MARK_MANGLED_0) | 2);
  __be16 bytes = to;
  bpf_skb_store_bytes(skb, port_off, &bytes, 2, 0);
}

/* swapMacs: back out of the interface it came in on. Returns 0 when done. */
INLINE int swap_macs(struct __sk_buff *skb) {
  struct eth_addrs before, after;
  if (bpf_skb_load_bytes(skb, 0, &before, sizeof(before)) != 0) return -1;
  __builtin_memcpy(after.dst, before.src, 6);
  __builtin_memcpy(after.src, before.dst, 6);
  bpf_skb_store_bytes(skb, 0, &after, sizeof(after), 0);
  return 0;
}

INLINE int cluster_ip4(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct iphdr4 *ip = data + 14;
  if ((void *)(ip + 1) > end) return TC_ACT_OK;
  if (ip->ver_ihl != 0x45 || (__builtin_bswap16(ip->frag) & 0x1fff) != 0) return TC_ACT_OK;
  struct ct4_key tuple = {};
  struct pkt p = {};
  tuple.saddr = ip->saddr;
  tuple.daddr = ip->daddr;
  tuple.nexthdr = ip->proto;
  if (ip->proto == PROTO_TCP) {
    struct tcphdr4 *tcp = data + L4_OFF;
    if ((void *)(tcp + 1) > end) return TC_ACT_OK;
    tuple.sport = tcp->sport;
    tuple.dport = tcp->dport;
    p.tcp_flags = tcp->flags;
  } else if (ip->proto == PROTO_UDP) {
    struct ports *udp = data + L4_OFF;
    if ((void *)(udp + 1) > end) return TC_ACT_OK;
    tuple.sport = udp->sport;
    tuple.dport = udp->dport;
  } else {
    return TC_ACT_OK; /* ICMP errors: not in this twin (see the header). */
  }
  p.nexthdr = tuple.nexthdr;
  p.len = skb->len;
  p.now = (__u32)(bpf_ktime_get_ns() / 1000000000ull);
  __u64 udp = tuple.nexthdr == PROTO_UDP;
  __u32 csum_off = udp ? L4_OFF + 6 : L4_OFF + 16;

  /* Reply path. */
  struct ct4_key rkey = { .daddr = tuple.saddr, .saddr = tuple.daddr, .dport = tuple.sport, .sport = tuple.dport, .nexthdr = tuple.nexthdr, .flags = CT_OUT };
  struct ct_found r = ct_lookup(&rkey, 0, &p);
  if (r.found) {
    if (r.rev_nat_index == 0) return TC_ACT_OK;
    __u16 idx = r.rev_nat_index;
    struct lb4_reverse_nat *v = bpf_map_lookup_elem(&lb4_reverse_nat, &idx);
    if (!v) return TC_ACT_OK;
    struct lb4_reverse_nat frontend = *v;
    nat_addr(skb, csum_off, udp, SADDR_OFF, tuple.saddr, frontend.address);
    nat_port(skb, csum_off, udp, L4_OFF, tuple.sport, frontend.port);
    if (r.flags & CT_F_LB_LOOPBACK) {
      nat_addr(skb, csum_off, udp, DADDR_OFF, tuple.daddr, tuple.saddr);
      if (swap_macs(skb)) return TC_ACT_OK;
      return bpf_redirect(skb->ifindex, 0);
    }
    return TC_ACT_OK;
  }

  /* Service lookup and backend selection. */
  struct lb4_key svc_key = { .address = tuple.daddr, .port = tuple.dport, .proto = tuple.nexthdr };
  struct lb_service *s = bpf_map_lookup_elem(&lb4_services, &svc_key);
  if (!s) return TC_ACT_OK;
  __u16 count = s->count, rev_nat = s->rev_nat_index;
  if (count == 0) return drop_with(DROP_NO_BACKEND);
  struct ct4_key svc_tuple = tuple;
  svc_tuple.flags = CT_SERVICE;
  struct ct_found sticky = ct_lookup(&svc_tuple, 1, &p);
  __u32 backend_id = sticky.backend_id;
  struct lb4_backend backend = {};
  if (backend_id) {
    struct lb4_backend *be = bpf_map_lookup_elem(&lb4_backends, &backend_id);
    if (be) backend = *be; else backend_id = 0;
  }
  struct ct_entry entry;
  if (!backend_id) {
    svc_key.backend_slot = (__u16)(bpf_get_prandom_u32() % (__u32)count + 1);
    struct lb_service *slot = bpf_map_lookup_elem(&lb4_services, &svc_key);
    if (slot) backend_id = slot->backend_id;
    if (!backend_id) return drop_with(DROP_BACKEND_MISSING);
    struct lb4_backend *be = bpf_map_lookup_elem(&lb4_backends, &backend_id);
    if (!be) return drop_with(DROP_BACKEND_MISSING);
    backend = *be;
    if (ct_create(&svc_tuple, &entry, rev_nat, backend_id, 0, &p) < 0) return drop_with(DROP_CT_CREATE);
  }

  /* DNAT (and hairpin SNAT to the loopback address). */
  int hairpin = backend.address == tuple.saddr;
  nat_addr(skb, csum_off, udp, DADDR_OFF, tuple.daddr, backend.address);
  nat_port(skb, csum_off, udp, L4_OFF + 2, tuple.dport, backend.port);
  if (hairpin) {
    nat_addr(skb, csum_off, udp, SADDR_OFF, tuple.saddr, HAIRPIN_ADDR);
    tuple.saddr = HAIRPIN_ADDR;
  }
  tuple.daddr = backend.address;
  tuple.dport = backend.port;

  /* Conntrack: ESTABLISHED or NEW (with its RELATED twin). */
  struct ct_found est = ct_lookup(&tuple, 1, &p);
  if (!est.found) {
    if (ct_create(&tuple, &entry, rev_nat, backend_id, hairpin ? CT_F_LB_LOOPBACK : 0, &p) < 0) return drop_with(DROP_CT_CREATE);
    tuple.flags = CT_RELATED;
    bpf_map_update_elem(&tc_ct4, &tuple, &entry, BPF_ANY);
    tuple.flags = CT_OUT;
  }
  if (hairpin) {
    if (swap_macs(skb)) return TC_ACT_OK;
    return bpf_redirect(skb->ifindex, 0);
  }
  return TC_ACT_OK;
}

SEC("tc") int tc_clusterip(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if (data + 14 > end) return TC_ACT_OK;
  __be16 proto = *(__be16 *)(data + 12);
  if (proto == __builtin_bswap16(0x0800)) return cluster_ip4(skb);
  return TC_ACT_OK; /* IPv6: not in this twin (see the header). */
}
