# hello.s — an XDP program in LLVM BPF assembly syntax: count packets per
# IPv4 protocol in the map `counters` (u32 key, u64 value), pass everything.
# Assemble with `tsbpf asm examples/hello.s -o hello.o --section xdp`.
hello:
  r2 = *(u32 *)(r1 + 4)        # data_end
  r1 = *(u32 *)(r1 + 0)        # data
  r3 = r1
  r3 += 14                     # Ethernet header
  if r3 > r2 goto pass
  r4 = *(u8 *)(r1 + 12)        # EtherType, high byte
  r4 <<= 8
  r5 = *(u8 *)(r1 + 13)
  r4 |= r5
  if r4 != 0x800 goto pass     # IPv4 only
  r3 = r1
  r3 += 34
  if r3 > r2 goto pass
  r6 = *(u8 *)(r1 + 23)        # IPv4 protocol
  *(u32 *)(r10 - 4) = r6
  r2 = r10
  r2 += -4
  r1 = counters ll             # map address (relocated by the loader)
  call 1                       # bpf_map_lookup_elem
  if r0 == 0 goto pass
  r1 = 1
  lock *(u64 *)(r0 + 0) += r1
pass:
  w0 = 2                       # XDP_PASS
  exit
