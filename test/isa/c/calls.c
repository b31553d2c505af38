// Several programs in several sections sharing global subprograms, a switch and
// a 64-bit constant, byte swaps and a far conditional jump over a long block.
#define SEC(n) __attribute__((section(n), used))
typedef unsigned int u32;
typedef unsigned long long u64;

u64 acc[8];

__attribute__((noinline)) u64 scramble(u64 x) {
  x ^= 0xdeadbeefcafef00dULL;
  x = __builtin_bswap64(x) + __builtin_bswap32((u32)x) + __builtin_bswap16((unsigned short)x);
  return x;
}

static __attribute__((noinline)) int pick(int k) {
  switch (k & 7) {
  case 0: return 11;
  case 1: return 22;
  case 2: return 35;
  case 3: return 48;
  default: return -1;
  }
}

SEC("tc") int classify(void *ctx) {
  u64 v = scramble((u64)(long)ctx);
  for (int i = 0; i < 8; i++) acc[i] += v >> i;
  return pick((int)v);
}

SEC("cgroup_skb/ingress") int filter(void *ctx) {
  return scramble(acc[3]) > 100 ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
