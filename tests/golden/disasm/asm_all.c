// mcpu: v4
// Every instruction form in clang's BPF assembler syntax, as inline asm.
__attribute__((section("xdp"), naked)) int all(void) {
  asm volatile(
  "r0 = 1\n r0 = -1\n w0 = 1\n r1 = r2\n w1 = w2\n"
  "r0 += 1\n r0 -= r1\n r0 *= 3\n r0 /= r1\n r0 |= 5\n r0 &= r1\n r0 <<= 7\n r0 >>= r1\n r0 %= 9\n r0 ^= r1\n r0 s>>= 11\n"
  "w0 += 1\n w0 -= w1\n w0 *= 3\n w0 /= w1\n w0 |= 5\n w0 &= w1\n w0 <<= 7\n w0 >>= w1\n w0 %= 9\n w0 ^= w1\n w0 s>>= 11\n"
  "r0 = -r0\n w0 = -w0\n"
  "r0 s/= r1\n r0 s%= 3\n w0 s/= w1\n w0 s%= 3\n"
  "r1 = (s8)r2\n r1 = (s16)r2\n r1 = (s32)r2\n w1 = (s8)w2\n w1 = (s16)w2\n"
  "r0 = be16 r0\n r0 = be32 r0\n r0 = be64 r0\n r0 = le16 r0\n r0 = le32 r0\n r0 = le64 r0\n"
  "r0 = bswap16 r0\n r0 = bswap32 r0\n r0 = bswap64 r0\n"
  "r1 = 0x123456789abcdef0 ll\n r1 = 0 ll\n r1 = -1 ll\n"
  "r0 = *(u8 *)(r1 + 2)\n r0 = *(u16 *)(r1 - 2)\n r0 = *(u32 *)(r1 + 0)\n r0 = *(u64 *)(r1 + 32767)\n"
  "r0 = *(s8 *)(r1 + 2)\n r0 = *(s16 *)(r1 - 2)\n r0 = *(s32 *)(r1 + 0)\n"
  "w0 = *(u8 *)(r1 + 2)\n w0 = *(u16 *)(r1 - 2)\n w0 = *(u32 *)(r1 + 0)\n"
  "*(u8 *)(r10 - 1) = r1\n *(u16 *)(r10 - 2) = r1\n *(u32 *)(r10 - 4) = r1\n *(u64 *)(r10 - 8) = r1\n"
  "*(u8 *)(r10 - 1) = w1\n *(u16 *)(r10 - 2) = w1\n *(u32 *)(r10 - 4) = w1\n"
  "*(u8 *)(r10 - 1) = 1\n *(u16 *)(r10 - 2) = -2\n *(u32 *)(r10 - 4) = 3\n *(u64 *)(r10 - 8) = 4\n"
  "lock *(u32 *)(r1 + 0) += w2\n lock *(u64 *)(r1 + 8) += r2\n lock *(u64 *)(r1 + 8) |= r2\n lock *(u64 *)(r1 + 8) &= r2\n lock *(u64 *)(r1 + 8) ^= r2\n"
  "lock *(u32 *)(r1 + 0) |= w2\n lock *(u32 *)(r1 + 0) &= w2\n lock *(u32 *)(r1 + 0) ^= w2\n"
  "r2 = atomic_fetch_add((u64 *)(r1 + 8), r2)\n r2 = atomic_fetch_or((u64 *)(r1 + 8), r2)\n r2 = atomic_fetch_and((u64 *)(r1 + 8), r2)\n r2 = atomic_fetch_xor((u64 *)(r1 + 8), r2)\n"
  "w2 = atomic_fetch_add((u32 *)(r1 + 8), w2)\n w2 = atomic_fetch_or((u32 *)(r1 + 8), w2)\n w2 = atomic_fetch_and((u32 *)(r1 + 8), w2)\n w2 = atomic_fetch_xor((u32 *)(r1 + 8), w2)\n"
  "r2 = xchg_64(r1 + 8, r2)\n w2 = xchg32_32(r1 + 8, w2)\n r0 = cmpxchg_64(r1 + 8, r0, r2)\n w0 = cmpxchg32_32(r1 + 8, w0, w2)\n"
  "r0 = *(u8 *)skb[12]\n r0 = *(u16 *)skb[12]\n r0 = *(u32 *)skb[12]\n r0 = *(u8 *)skb[r1]\n r0 = *(u16 *)skb[r1]\n r0 = *(u32 *)skb[r1]\n"
  "goto +1\n goto -1\n gotol +2\n gotol -3\n"
  "if r1 == 1 goto +1\n if r1 != r2 goto -1\n if r1 > 3 goto +1\n if r1 >= r2 goto +1\n if r1 < 3 goto +1\n if r1 <= r2 goto +1\n"
  "if r1 s> 3 goto +1\n if r1 s>= r2 goto +1\n if r1 s< -3 goto +1\n if r1 s<= r2 goto +1\n if r1 & 3 goto +1\n if r1 & r2 goto +1\n"
  "if w1 == 1 goto +1\n if w1 != w2 goto -1\n if w1 > 3 goto +1\n if w1 >= w2 goto +1\n if w1 < 3 goto +1\n if w1 <= w2 goto +1\n"
  "if w1 s> 3 goto +1\n if w1 s>= w2 goto +1\n if w1 s< -3 goto +1\n if w1 s<= w2 goto +1\n if w1 & 3 goto +1\n if w1 & w2 goto +1\n"
  "call 1\n call -1\n callx r2\n"
  "r0 = 0x7fffffff\n r0 = -0x80000000\n r0 += -0x80000000\n if r1 == -1 goto +1\n w0 = -1\n w0 += -1\n if w1 == -1 goto +1\n r0 = 4294967295 ll\n"
  "exit\n");
}
