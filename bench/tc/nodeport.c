/*
 * The C twin of programs/tc/nodeport.ts (`np4_ingress`, `np4_from_pod`) for
 * bench/tc.ts: IPv4 NodePort on the native device (reply path: reverse SNAT +
 * reverse DNAT + FIB redirect; request path: sticky flow or backend pick, then
 * local backend: DNAT + redirect to its veth, or remote backend: DNAT + SNAT
 * with port allocation + FIB redirect) and the local backend's replies.
 * Same map layouts (programs/lb/schemas.ts, programs/tc/{nodeport,snat}-schemas.ts,
 * neigh-maps.ts; checked against the tsbpf object by the bench), same
 * algorithm (checksums fixed in code with RFC 1624 on direct packet writes,
 * the SNAT search a bounded loop of 32 candidates with reclaim of idle holders),
 * same helpers. Not here: session affinity (SERVICE_FLAG_AFFINITY,
 * lb4_affinity) — the bench's services have none, so the tsbpf side only tests
 * the flag and both sides' outputs stay identical. Self-contained: helpers are
 * declared by id.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define INLINE static __attribute__((always_inline)) inline

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;
static long (*bpf_fib_lookup)(void *ctx, struct bpf_fib_lookup *params, int plen, __u32 flags) = (void *)69;
static long (*bpf_redirect_neigh)(__u32 ifindex, void *params, int plen, __u64 flags) = (void *)152;

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_UNSPEC -1 /* the other family: on to the next program on the hook */
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define PROTO_TCP 6
#define PROTO_UDP 17
#define L4_OFF 34
#define SCOPE_EXTERNAL 0
#define SCOPE_INTERNAL 1
#define SERVICE_FLAG_NODEPORT 1
#define SERVICE_FLAG_EXTERNAL_LOCAL 2
#define SERVICE_FLAG_EXTERNAL_IP 4
#define BACKEND_FLAG_LOCAL 2
#define NP_FLOW_LOCAL 1
#define NP_MARK_FORWARDED 0x00100000
#define DIR_OUT 0
#define DIR_IN 1
#define SNAT_FLAG_NO_SNAT 1
#define SNAT_FLAG_HOST 2
#define SNAT_TRIES 32
#define SNAT_HASHED_TRIES 16
#define SNAT_GOLDEN 0x9e3779b1u
#define HIST_FAILED SNAT_TRIES
#define HIST_ROLLBACK (SNAT_TRIES + 1)
#define HIST_RECLAIMED (SNAT_TRIES + 2)
#define LIFETIME_TCP_NS (6ull * 3600ull * 1000000000ull)
#define LIFETIME_OTHER_NS (60ull * 1000000000ull)
enum { DROP_NO_BACKEND, DROP_BACKEND_GONE, DROP_NO_ENDPOINT, DROP_SNAT_EXHAUSTED, DROP_FIB_FAILED, DROP_NO_NEIGH, DROP_NO_CONFIG, DROP_TTL_EXCEEDED };
enum { PATH_FIB, PATH_NEIGH_CACHE, PATH_REDIRECT_NEIGH };
enum { SNAT_FAILED, SNAT_OK, SNAT_ROLLED_BACK };

struct lb4_key { __be32 address; __be16 port; __u16 backend_slot; __u8 proto, scope, pad[2]; };
struct lb_service { __u32 backend_id; __u16 count, rev_nat_index; __u8 flags, flags2, pad[2]; };
struct lb4_backend { __be32 address; __be16 port; __u8 proto, flags; };
struct lb4_reverse_nat { __be32 address; __be16 port; __u8 pad[2]; };
struct np4_config { __be32 node_ip; __u32 ifindex; __u8 mac[6], pad[2]; __u16 port_min, port_max; };
struct np_local_endpoint { __u32 ifindex; __u8 pod_mac[6], host_mac[6], pad[4]; };
struct np4_flow { __u64 created; __be32 backend_addr; __be16 backend_port; __u16 rev_nat_index; __u8 flags, pad[3]; __u32 backend_id; };
struct snat4_key { __be32 daddr, saddr; __be16 dport, sport; __u8 proto, dir, pad[2]; };
struct snat4_entry { __u64 seen; __be32 addr; __be16 port; __u16 rev_nat_index; __u8 flags, pad[7]; };
struct neigh_entry { __u8 mac[6], pad[2]; };
_Static_assert(sizeof(struct np4_config) == 20, "np4_config");
_Static_assert(sizeof(struct np_local_endpoint) == 20, "np_local_endpoint");
_Static_assert(sizeof(struct np4_flow) == 24, "np4_flow");
_Static_assert(sizeof(struct snat4_key) == 16, "snat4_key");
_Static_assert(sizeof(struct snat4_entry) == 24, "snat4_entry");
_Static_assert(sizeof(struct neigh_entry) == 8, "neigh_entry");

struct eth { __u8 dst[6], src[6]; __be16 proto; };
struct ip4 { __u8 ver_ihl, tos; __be16 tot_len, id, frag; __u8 ttl, proto; __be16 check; __be32 saddr, daddr; };
struct ports { __be16 sport, dport; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, struct lb4_key); __type(value, struct lb_service); } lb4_services SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, __u32); __type(value, struct lb4_backend); } lb4_backends SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, __u16); __type(value, struct lb4_reverse_nat); } lb4_reverse_nat SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct np4_config); } np4_config SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, __be32); __type(value, struct np_local_endpoint); } np4_local_eps SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 262144); __type(key, struct snat4_key); __type(value, struct np4_flow); } np4_flows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 524288); __type(key, struct snat4_key); __type(value, struct snat4_entry); } snat4_map SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 524288); __type(key, __be32); __type(value, struct neigh_entry); } neigh4_map SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 35); __type(key, __u32); __type(value, __u64); } snat_retries SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } np_drops SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } np_paths SEC(".maps");

INLINE void bump(void *map, __u32 index) {
  __u64 *n = bpf_map_lookup_elem(map, &index);
  if (n) __sync_fetch_and_add(n, 1);
}

INLINE __u32 fold16(__u32 x) {
  __u32 once = (x & 0xffff) + (x >> 16);
  return (once & 0xffff) + (once >> 16);
}
INLINE __u32 w32(__be32 v, int old) {
  __u32 x = __builtin_bswap32(v);
  return old ? ((x >> 16) ^ 0xffff) + ((x & 0xffff) ^ 0xffff) : (x >> 16) + (x & 0xffff);
}
INLINE __u32 w16(__be16 v, int old) {
  __u32 x = __builtin_bswap16(v);
  return old ? x ^ 0xffff : x;
}
INLINE void apply_csum(__be16 *field, __u32 delta) {
  __u32 old = __builtin_bswap16(*field);
  *field = __builtin_bswap16((__u16)(fold16((old ^ 0xffff) + delta) ^ 0xffff));
}
INLINE void apply_udp_csum(__be16 *field, __u32 delta) {
  __u32 old = __builtin_bswap16(*field);
  if (old != 0) {
    __u32 sum = fold16((old ^ 0xffff) + delta) ^ 0xffff;
    *field = sum == 0 ? 0xffff : __builtin_bswap16((__u16)sum);
  }
}

/* rewriteTuple: new fields written directly, TTL down by one (a router hop), checksums fixed in code. Returns 0, or -1 when the checksum is beyond the packet. */
INLINE int rewrite(struct __sk_buff *skb, struct ip4 *ip, struct ports *pt, __u8 proto, const __be32 *saddr, const __be16 *sport, __be32 daddr, const __be16 *dport) {
  __u32 l3 = 0, l4 = 0;
  if (saddr) l3 += w32(ip->saddr, 1) + w32(*saddr, 0);
  l3 += w32(ip->daddr, 1) + w32(daddr, 0);
  if (sport) l4 += w16(pt->sport, 1) + w16(*sport, 0);
  l4 += w16(pt->dport, 1) + w16(*dport, 0);
  if (saddr) ip->saddr = *saddr;
  ip->daddr = daddr;
  if (sport) pt->sport = *sport;
  pt->dport = *dport;
  ip->ttl -= 1;
  apply_csum(&ip->check, l3 + 0xfeff); /* ~m + m' of the (TTL, protocol) word; not in the pseudo header */
  __u32 total = l3 + l4;
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if (proto == PROTO_TCP) {
    __be16 *c = data + L4_OFF + 16;
    if ((void *)(c + 1) > end) return -1;
    apply_csum(c, total);
  } else {
    __be16 *c = data + L4_OFF + 6;
    if ((void *)(c + 1) > end) return -1;
    apply_udp_csum(c, total);
  }
  return 0;
}

/* fibRedirect: FIB, else the neighbour cache, else bpf_redirect_neigh. */
INLINE int fib_redirect(struct __sk_buff *skb, struct bpf_fib_lookup *fib, struct eth *eth, struct ip4 *ip, struct ports *pt, const struct np4_config *cfg) {
  skb->mark |= NP_MARK_FORWARDED; /* the egress program tells these from host flows */
  fib->family = 2;
  fib->ifindex = cfg->ifindex;
  fib->l4_protocol = ip->proto;
  fib->sport = pt->sport;
  fib->dport = pt->dport;
  fib->tot_len = __builtin_bswap16(ip->tot_len);
  fib->ipv4_src = ip->saddr;
  fib->ipv4_dst = ip->daddr;
  long rc = bpf_fib_lookup(skb, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_DIRECT);
  /* A GSO packet is longer than the MTU as a whole: without tot_len the kernel checks the skb itself. */
  if ((__u32)rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
    fib->tot_len = 0;
    fib->ifindex = cfg->ifindex;
    rc = bpf_fib_lookup(skb, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_DIRECT);
  }
  if ((__u32)rc == BPF_FIB_LKUP_RET_SUCCESS) {
    __builtin_memcpy(eth->dst, fib->dmac, 6);
    __builtin_memcpy(eth->src, fib->smac, 6);
    bump(&np_paths, PATH_FIB);
    return bpf_redirect(fib->ifindex, 0);
  }
  if ((__u32)rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
    bump(&np_drops, DROP_FIB_FAILED);
    return TC_ACT_SHOT;
  }
  struct neigh_entry *n = bpf_map_lookup_elem(&neigh4_map, &fib->ipv4_dst);
  if (n) {
    __builtin_memcpy(eth->dst, n->mac, 6);
    __builtin_memcpy(eth->src, cfg->mac, 6);
    bump(&np_paths, PATH_NEIGH_CACHE);
    return bpf_redirect(fib->ifindex, 0);
  }
  bump(&np_paths, PATH_REDIRECT_NEIGH);
  return bpf_redirect_neigh(fib->ifindex, 0, 0, 0);
}

INLINE __u32 hashed(__u32 prev, __u32 min, __u32 span) {
  return ((__u32)(prev * SNAT_GOLDEN) >> 16) % span + min;
}

/* allocateSnatPort: original port, hashed candidates, then random; NOEXIST inserts with rollback; idle holders reclaimed. */
INLINE __u32 allocate(struct snat4_key *fwd_key, struct snat4_entry *fwd, struct snat4_key *rev_key, struct snat4_entry *rev,
                      struct snat4_key *stale_key, __u64 now, __u64 lifetime, __u32 orig, __u32 min, __u32 max) {
  __u32 span = max - min + 1;
  __u32 port = orig;
  if (orig < min || orig > max) port = hashed(orig, min, span);
  __u32 result = SNAT_FAILED;
  for (__u32 i = 0; i < SNAT_TRIES; i++) {
    __be16 p16 = __builtin_bswap16((__u16)port);
    rev_key->dport = p16;
    fwd->port = p16;
    if (bpf_map_update_elem(&snat4_map, rev_key, rev, BPF_NOEXIST) == 0) {
      if (bpf_map_update_elem(&snat4_map, fwd_key, fwd, BPF_NOEXIST) == 0) {
        result = SNAT_OK;
        bump(&snat_retries, i);
      } else {
        bpf_map_delete_elem(&snat4_map, rev_key);
        result = SNAT_ROLLED_BACK;
        bump(&snat_retries, HIST_ROLLBACK);
      }
      break;
    }
    int stale = 0;
    struct snat4_entry *r = bpf_map_lookup_elem(&snat4_map, rev_key);
    if (r && now - r->seen > lifetime) {
      stale = 1;
      stale_key->saddr = r->addr;
      stale_key->daddr = rev_key->saddr;
      stale_key->sport = r->port;
      stale_key->dport = rev_key->sport;
      stale_key->proto = rev_key->proto;
      stale_key->dir = DIR_OUT;
    }
    if (stale) {
      struct snat4_entry *f = bpf_map_lookup_elem(&snat4_map, stale_key);
      if (f && now - f->seen <= lifetime) stale = 0;
    }
    if (stale) {
      bpf_map_delete_elem(&snat4_map, stale_key);
      bpf_map_delete_elem(&snat4_map, rev_key);
      bump(&snat_retries, HIST_RECLAIMED);
      continue;
    }
    if (i < SNAT_HASHED_TRIES - 1) port = hashed(port, min, span);
    else port = bpf_get_prandom_u32() % span + min;
  }
  if (result == SNAT_FAILED) bump(&snat_retries, HIST_FAILED);
  return result;
}

/* The scratch objects of one packet (nodeport-scratch.ts). */
struct scratch { struct np4_config cfg; struct bpf_fib_lookup fib; struct snat4_key key_a, key_b, stale; struct snat4_entry entry_a, entry_b; };

INLINE void set_key(struct snat4_key *k, __be32 saddr, __be32 daddr, __be16 sport, __be16 dport, __u8 proto, __u8 dir) {
  k->saddr = saddr; k->daddr = daddr; k->sport = sport; k->dport = dport; k->proto = proto; k->dir = dir;
}
INLINE void set_entry(struct snat4_entry *e, __u64 seen, __be32 addr, __be16 port, __u16 rev_nat, __u8 flags) {
  e->seen = seen; e->addr = addr; e->port = port; e->rev_nat_index = rev_nat; e->flags = flags;
}

/* Parsing and configuration; returns `pass` for what NodePort does not handle (UNSPEC for the other family). */
#define PROLOGUE(pass)                                                                         \
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;               \
  struct eth *eth = data;                                                                 \
  if ((void *)(eth + 1) > end) return pass;                                             \
  if (eth->proto != __builtin_bswap16(0x0800)) return TC_ACT_UNSPEC;                      \
  struct ip4 *ip = data + 14;                                                             \
  if ((void *)(ip + 1) > end) return pass;                                              \
  if (ip->ver_ihl != 0x45) return pass;                                                 \
  if (__builtin_bswap16(ip->frag) & 0x3fff) return pass;                                \
  __u8 proto = ip->proto;                                                                 \
  if (proto != PROTO_TCP && proto != PROTO_UDP) return pass;                            \
  struct ports *pt = data + L4_OFF;                                                       \
  if ((void *)(pt + 1) > end) return pass;                                              \
  struct scratch s;                                                                       \
  __builtin_memset(&s, 0, sizeof(s));                                                     \
  __u32 zero = 0;                                                                         \
  struct np4_config *c = bpf_map_lookup_elem(&np4_config, &zero);                         \
  if (c) s.cfg = *c;                                                                      \
  if (s.cfg.node_ip == 0) return pass;   

/* replyPath: returns a verdict (>= 0) for a reply, -1 to fall through. */
INLINE int reply_path(struct __sk_buff *skb, struct eth *eth, struct ip4 *ip, struct ports *pt, __u8 proto, struct scratch *s) {
  set_key(&s->key_a, ip->saddr, ip->daddr, pt->sport, pt->dport, proto, DIR_IN);
  __u64 now = bpf_ktime_get_ns();
  struct snat4_entry *e = bpf_map_lookup_elem(&snat4_map, &s->key_a);
  if (!e) return -1;
  s->entry_a = *e;
  e->seen = now;
  if (s->entry_a.flags & SNAT_FLAG_HOST) return TC_ACT_OK;
  if (ip->ttl <= 1) { bump(&np_drops, DROP_TTL_EXCEEDED); return TC_ACT_SHOT; }
  struct lb4_reverse_nat front = { .address = ip->saddr, .port = pt->sport };
  if (s->entry_a.rev_nat_index) {
    struct lb4_reverse_nat *r = bpf_map_lookup_elem(&lb4_reverse_nat, &s->entry_a.rev_nat_index);
    if (r) front = *r;
    if (front.address == 0) front.address = s->cfg.node_ip;
  }
  if (rewrite(skb, ip, pt, proto, &front.address, &front.port, s->entry_a.addr, &s->entry_a.port)) return TC_ACT_SHOT;
  return fib_redirect(skb, &s->fib, eth, ip, pt, &s->cfg);
}

/* flowStillValid: the frontend's reverse-NAT index and the backend are unchanged. */
INLINE int flow_still_valid(struct ip4 *ip, struct ports *pt, __u8 proto, const struct np4_flow *flow, int external) {
  struct lb4_key key = { .address = external ? ip->daddr : 0, .port = pt->dport, .proto = proto, .scope = SCOPE_EXTERNAL };
  struct lb_service *svc = bpf_map_lookup_elem(&lb4_services, &key);
  if (!svc || svc->rev_nat_index != flow->rev_nat_index) return 0;
  __u32 id = flow->backend_id;
  struct lb4_backend *be = bpf_map_lookup_elem(&lb4_backends, &id);
  return be && be->address == flow->backend_addr && be->port == flow->backend_port;
}

/* selectBackend into *flow; returns a verdict (>= 0) to return, -1 on success. */
INLINE int select_backend(struct ip4 *ip, struct ports *pt, __u8 proto, struct np4_flow *flow, int external) {
  struct lb4_key key = { .address = external ? ip->daddr : 0, .port = pt->dport, .proto = proto, .scope = SCOPE_EXTERNAL };
  struct lb_service *svc = bpf_map_lookup_elem(&lb4_services, &key);
  if (!svc) return TC_ACT_OK;
  __u8 flags = svc->flags;
  __u16 count = svc->count;
  flow->rev_nat_index = svc->rev_nat_index;
  if (!(flags & (external ? SERVICE_FLAG_EXTERNAL_IP : SERVICE_FLAG_NODEPORT))) return TC_ACT_OK;
  int local_only = (flags & SERVICE_FLAG_EXTERNAL_LOCAL) != 0;
  if (local_only) {
    key.scope = SCOPE_INTERNAL;
    count = 0;
    struct lb_service *x = bpf_map_lookup_elem(&lb4_services, &key);
    if (x) count = x->count;
  }
  if (count == 0) { bump(&np_drops, DROP_NO_BACKEND); return TC_ACT_SHOT; }
  key.backend_slot = (__u16)(bpf_get_prandom_u32() % (__u32)count + 1);
  /* A slot or backend removed under us counts as gone. */
  __u32 backend_id = 0;
  struct lb_service *slot = bpf_map_lookup_elem(&lb4_services, &key);
  if (slot) backend_id = slot->backend_id;
  if (backend_id == 0) { bump(&np_drops, DROP_BACKEND_GONE); return TC_ACT_SHOT; }
  struct lb4_backend *be = bpf_map_lookup_elem(&lb4_backends, &backend_id);
  if (!be) { bump(&np_drops, DROP_BACKEND_GONE); return TC_ACT_SHOT; }
  struct lb4_backend backend = *be;
  int is_local = (backend.flags & BACKEND_FLAG_LOCAL) != 0;
  if (local_only && !is_local) { bump(&np_drops, DROP_NO_BACKEND); return TC_ACT_SHOT; }
  flow->backend_addr = backend.address;
  flow->backend_port = backend.port;
  flow->backend_id = backend_id;
  flow->flags = is_local ? NP_FLOW_LOCAL : 0;
  flow->created = bpf_ktime_get_ns();
  return -1;
}

INLINE int to_local(struct __sk_buff *skb, struct eth *eth, struct ip4 *ip, struct ports *pt, __u8 proto, struct np4_flow *flow, int is_new, struct scratch *s) {
  struct np_local_endpoint *e = bpf_map_lookup_elem(&np4_local_eps, &flow->backend_addr);
  if (!e) { bump(&np_drops, DROP_NO_ENDPOINT); return TC_ACT_SHOT; }
  struct np_local_endpoint ep = *e;
  if (is_new) {
    set_key(&s->key_b, flow->backend_addr, ip->saddr, flow->backend_port, pt->sport, proto, DIR_IN);
    set_entry(&s->entry_b, flow->created, ip->saddr, pt->sport, flow->rev_nat_index, SNAT_FLAG_NO_SNAT);
    bpf_map_update_elem(&snat4_map, &s->key_b, &s->entry_b, BPF_ANY);
  }
  if (rewrite(skb, ip, pt, proto, 0, 0, flow->backend_addr, &flow->backend_port)) return TC_ACT_SHOT;
  __builtin_memcpy(eth->dst, ep.pod_mac, 6);
  __builtin_memcpy(eth->src, ep.host_mac, 6);
  return bpf_redirect(ep.ifindex, 0);
}

INLINE int to_remote(struct __sk_buff *skb, struct eth *eth, struct ip4 *ip, struct ports *pt, __u8 proto, struct np4_flow *flow, int is_new, struct scratch *s) {
  set_key(&s->key_a, ip->saddr, flow->backend_addr, pt->sport, flow->backend_port, proto, DIR_OUT);
  __u64 now = bpf_ktime_get_ns();
  struct snat4_entry *e = bpf_map_lookup_elem(&snat4_map, &s->key_a);
  if (e) {
    s->entry_a = *e;
    e->seen = now;
    if (is_new) { /* a new flow over an existing mapping: its reverse entry gets the current reverse-NAT index */
      set_key(&s->key_b, flow->backend_addr, s->cfg.node_ip, flow->backend_port, s->entry_a.port, proto, DIR_IN);
      set_entry(&s->entry_b, now, ip->saddr, pt->sport, flow->rev_nat_index, 0);
      bpf_map_update_elem(&snat4_map, &s->key_b, &s->entry_b, BPF_ANY);
    }
  } else {
    set_entry(&s->entry_a, now, s->cfg.node_ip, 0, 0, 0);
    set_key(&s->key_b, flow->backend_addr, s->cfg.node_ip, flow->backend_port, 0, proto, DIR_IN);
    set_entry(&s->entry_b, now, ip->saddr, pt->sport, flow->rev_nat_index, 0);
    __u64 lifetime = proto == PROTO_TCP ? LIFETIME_TCP_NS : LIFETIME_OTHER_NS;
    __u32 r = allocate(&s->key_a, &s->entry_a, &s->key_b, &s->entry_b, &s->stale, now, lifetime,
                       __builtin_bswap16(pt->sport), s->cfg.port_min, s->cfg.port_max);
    if (r != SNAT_OK) { bump(&np_drops, DROP_SNAT_EXHAUSTED); return TC_ACT_SHOT; }
  }
  if (rewrite(skb, ip, pt, proto, &s->entry_a.addr, &s->entry_a.port, flow->backend_addr, &flow->backend_port)) return TC_ACT_SHOT;
  return fib_redirect(skb, &s->fib, eth, ip, pt, &s->cfg);
}

INLINE int forward_path(struct __sk_buff *skb, struct eth *eth, struct ip4 *ip, struct ports *pt, __u8 proto, struct scratch *s) {
  int external = 0;
  if (ip->daddr != s->cfg.node_ip) {
    struct lb4_key k = { .address = ip->daddr, .port = pt->dport, .proto = proto, .scope = SCOPE_EXTERNAL };
    struct lb_service *front = bpf_map_lookup_elem(&lb4_services, &k);
    if (!front || !(front->flags & SERVICE_FLAG_EXTERNAL_IP)) return TC_ACT_OK;
    external = 1;
  }
  s->key_a.dir = DIR_OUT;
  struct np4_flow flow = {};
  int is_new = 1;
  struct np4_flow *f = bpf_map_lookup_elem(&np4_flows, &s->key_a);
  if (f) {
    flow = *f;
    is_new = !flow_still_valid(ip, pt, proto, &flow, external);
  }
  if (is_new) {
    int v = select_backend(ip, pt, proto, &flow, external);
    if (v >= 0) return v;
    bpf_map_update_elem(&np4_flows, &s->key_a, &flow, BPF_ANY);
    struct neigh_entry n = {};
    __builtin_memcpy(n.mac, eth->src, 6);
    bpf_map_update_elem(&neigh4_map, &s->key_a.saddr, &n, BPF_ANY);
  }
  if (ip->ttl <= 1) { bump(&np_drops, DROP_TTL_EXCEEDED); return TC_ACT_SHOT; }
  if (flow.flags & NP_FLOW_LOCAL) return to_local(skb, eth, ip, pt, proto, &flow, is_new, s);
  return to_remote(skb, eth, ip, pt, proto, &flow, is_new, s);
}

SEC("tc") int np4_ingress(struct __sk_buff *skb) {
  PROLOGUE(TC_ACT_OK)
  int v = reply_path(skb, eth, ip, pt, proto, &s);
  if (v >= 0) return v;
  return forward_path(skb, eth, ip, pt, proto, &s);
}

SEC("tc") int np4_from_pod(struct __sk_buff *skb) {
  /* Everything but NodePort replies goes on to the next program on the pod's veth. */
  PROLOGUE(TC_ACT_UNSPEC)
  int v = reply_path(skb, eth, ip, pt, proto, &s);
  if (v >= 0) return v;
  return TC_ACT_UNSPEC;
}
