# Every instruction form of RFC 9669 + the kernel extensions (including 6.9's
# may_goto and addr_space_cast), in LLVM BPF syntax.
# Assembled by `llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj` and by tsbpf; the
# bytes must be identical and both dumps must equal llvm-objdump-19's.
# Pseudo-source lddw forms whose second immediate llvm-mc cannot write (map value
# offset, src 2/6) are covered by the builder round-trip tests instead.
start:
# ---- ALU64, immediate and register forms
  r0 += 1
  r1 += -16
  r2 += r3
  r3 -= 0x7fffffff
  r4 -= r5
  r5 *= 3
  r6 *= r7
  r7 /= 10
  r8 /= r9
  r9 s/= -3
  r1 s/= r2
  r0 |= 0x80
  r1 |= r2
  r2 &= 0xff
  r3 &= r4
  r4 <<= 32
  r5 <<= r6
  r6 >>= 1
  r7 >>= r8
  r8 s>>= 63
  r9 s>>= r0
  r0 %= 7
  r1 %= r2
  r2 s%= 7
  r3 s%= r4
  r4 ^= -1
  r5 ^= r6
  r6 = 0
  r7 = -2147483648
  r8 = r10
  r9 = -r9
  r1 = (s8)r2
  r3 = (s16)r4
  r5 = (s32)r6
  r1 = addr_space_cast(r2, 0, 1)
  r3 = addr_space_cast(r4, 1, 0)
# ---- ALU (32-bit)
  w0 += 1
  w1 += w2
  w2 -= 5
  w3 -= w4
  w4 *= 0x10
  w5 *= w6
  w6 /= 3
  w7 /= w8
  w8 s/= 3
  w9 s/= w1
  w0 |= 1
  w1 |= w2
  w2 &= 1
  w3 &= w4
  w4 <<= 31
  w5 <<= w6
  w6 >>= 2
  w7 >>= w8
  w8 s>>= 3
  w9 s>>= w0
  w0 %= 9
  w1 %= w2
  w2 s%= 9
  w3 s%= w4
  w4 ^= 0xffffffff
  w5 ^= w6
  w6 = 0x7fffffff
  w7 = w10
  w8 = -w8
  w1 = (s8)w2
  w3 = (s16)w4
# ---- byte swaps
  r1 = le16 r1
  r2 = le32 r2
  r3 = le64 r3
  r4 = be16 r4
  r5 = be32 r5
  r6 = be64 r6
  r7 = bswap16 r7
  r8 = bswap32 r8
  r9 = bswap64 r9
# ---- 64-bit immediates and every lddw pseudo source llvm-mc can write
  r1 = 0 ll
  r2 = 0x123456789abcdef0 ll
  r3 = -1 ll
  r4 = -9223372036854775808 ll
  ld_pseudo r1, 1, 3
  ld_pseudo r2, 2, 4
  ld_pseudo r3, 3, 100
  ld_pseudo r4, 4, 2
  ld_pseudo r5, 5, 0
  ld_pseudo r6, 6, 1
# ---- loads, sign-extending loads, stores (immediate and register)
  r0 = *(u8 *)(r1 + 0)
  r1 = *(u16 *)(r10 - 2)
  r2 = *(u32 *)(r3 + 32767)
  r3 = *(u64 *)(r4 - 32768)
  w4 = *(u8 *)(r5 + 1)
  w5 = *(u16 *)(r6 + 2)
  w6 = *(u32 *)(r7 + 4)
  r7 = *(s8 *)(r8 + 1)
  r8 = *(s16 *)(r9 - 2)
  r9 = *(s32 *)(r10 - 4)
  *(u8 *)(r10 - 1) = 255
  *(u16 *)(r10 - 2) = -1
  *(u32 *)(r10 - 4) = 0x12345678
  *(u64 *)(r10 - 8) = -2147483648
  *(u8 *)(r1 + 0) = r2
  *(u16 *)(r1 + 2) = w3
  *(u32 *)(r1 + 4) = w4
  *(u64 *)(r1 + 8) = r5
# ---- atomics, 32 and 64 bit
  lock *(u32 *)(r1 + 0) += w2
  lock *(u32 *)(r1 + 4) |= w2
  lock *(u32 *)(r1 + 8) &= w2
  lock *(u32 *)(r1 - 4) ^= w2
  lock *(u64 *)(r1 + 0) += r2
  lock *(u64 *)(r1 + 8) |= r2
  lock *(u64 *)(r1 + 16) &= r2
  lock *(u64 *)(r1 - 8) ^= r2
  w2 = atomic_fetch_add((u32 *)(r1 + 0), w2)
  w3 = atomic_fetch_or((u32 *)(r1 + 4), w3)
  w4 = atomic_fetch_and((u32 *)(r1 + 8), w4)
  w5 = atomic_fetch_xor((u32 *)(r1 + 12), w5)
  r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
  r3 = atomic_fetch_or((u64 *)(r1 + 8), r3)
  r4 = atomic_fetch_and((u64 *)(r1 + 16), r4)
  r5 = atomic_fetch_xor((u64 *)(r10 - 8), r5)
  w6 = xchg32_32(r1 + 0, w6)
  r7 = xchg_64(r1 + 8, r7)
  w0 = cmpxchg32_32(r1 + 4, w0, w8)
  r0 = cmpxchg_64(r10 - 16, r0, r9)
# ---- legacy packet loads
  r0 = *(u8 *)skb[0]
  r0 = *(u16 *)skb[12]
  r0 = *(u32 *)skb[0x7fffffff]
  r0 = *(u8 *)skb[r1]
  r0 = *(u16 *)skb[r6]
  r0 = *(u32 *)skb[r9]
# ---- jumps: every condition, JMP and JMP32, K and X, labels and raw offsets
loop:
  if r1 == 0 goto loop
  if r1 == r2 goto done
  if r1 > 1 goto +1
  if r1 > r2 goto -1
  if r1 >= 2 goto loop
  if r1 >= r2 goto done
  if r1 & 4 goto loop
  if r1 & r2 goto done
  if r1 != 5 goto loop
  if r1 != r2 goto done
  if r1 s> -6 goto loop
  if r1 s> r2 goto done
  if r1 s>= 7 goto loop
  if r1 s>= r2 goto done
  if r1 < 8 goto loop
  if r1 < r2 goto done
  if r1 <= 9 goto loop
  if r1 <= r2 goto done
  if r1 s< -10 goto loop
  if r1 s< r2 goto done
  if r1 s<= 11 goto loop
  if r1 s<= r2 goto done
  if w1 == 0 goto loop
  if w1 == w2 goto done
  if w1 > 1 goto loop
  if w1 > w2 goto done
  if w1 >= 2 goto loop
  if w1 >= w2 goto done
  if w1 & 4 goto loop
  if w1 & w2 goto done
  if w1 != 5 goto loop
  if w1 != w2 goto done
  if w1 s> -6 goto loop
  if w1 s> w2 goto done
  if w1 s>= 7 goto loop
  if w1 s>= w2 goto done
  if w1 < 8 goto loop
  if w1 < w2 goto done
  if w1 <= 0xffffffff goto loop
  if w1 <= w2 goto done
  if w1 s< -10 goto loop
  if w1 s< w2 goto done
  if w1 s<= 11 goto loop
  if w1 s<= w2 goto +0
  goto loop
  goto +0
  may_goto loop
  may_goto +2
  gotol done
  gotol -3
# ---- calls and exit
  call 1
  call 0x7fffffff
  call sub
  exit
done:
  r0 = 0
  exit
sub:
  w0 = 1
  exit
