// Every atomic builtin on 32- and 64-bit values, plus signed division and
// sign-extending loads that -mcpu=v4 turns into sdiv/smod/ldsx/movsx.
#define SEC(n) __attribute__((section(n), used))
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;

u64 g64;
u32 g32;
s64 ratio;

SEC("socket") int atomics(void *ctx) {
  u64 old = __sync_fetch_and_add(&g64, 3);
  old += __sync_fetch_and_or(&g64, 4);
  old += __sync_fetch_and_and(&g64, ~1ULL);
  old += __sync_fetch_and_xor(&g64, 0x55);
  old += __atomic_exchange_n(&g64, old, __ATOMIC_SEQ_CST);
  old += __sync_val_compare_and_swap(&g64, 7, old);
  u32 o32 = __sync_fetch_and_add(&g32, 3);
  o32 += __sync_fetch_and_or(&g32, 4);
  o32 += __sync_fetch_and_and(&g32, 6);
  o32 += __sync_fetch_and_xor(&g32, 9);
  o32 += __atomic_exchange_n(&g32, o32, __ATOMIC_SEQ_CST);
  o32 += __sync_val_compare_and_swap(&g32, 1, o32);
  __sync_fetch_and_add(&g64, 1);
  __sync_fetch_and_add(&g32, 1);
  signed char *p = (signed char *)&g32;
  short *q = (short *)&g32;
  int *r = (int *)&g64;
  s64 x = (s64)old / (s64)(p[1] | 1) + (s64)old % (s64)(q[0] | 3) + r[1];
  ratio = x;
  return (int)(x + o32);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
