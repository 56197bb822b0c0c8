/* The benchmark programs of benches/jit.rs written in C and compiled
 * natively (-O2 by build.rs): the floor the JITs are measured against.
 * Each function does what its BPF program does, on the same data. */
#include <stdint.h>
#include <stddef.h>

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t native_packet_parse(const uint8_t *data, const uint8_t *end) {
    if (data + 54 > end) return 0;
    if (be16(data + 12) != 0x0800) return 0;
    uint64_t vihl = data[14];
    if ((vihl >> 4) != 4) return 0;
    uint64_t ihl = (vihl & 0xf) << 2;
    if (ihl < 20 || ihl > 60) return 0;
    if (data[23] != 6) return 0;
    const uint8_t *tcp = data + 14 + ihl;
    if (tcp + 20 > end) return 0;
    uint64_t ports = (uint64_t)be16(tcp) << 16 | be16(tcp + 2);
    uint64_t src = be32(data + 26);
    return src ^ ports ^ tcp[13];
}

uint64_t native_checksum(const uint8_t *data, const uint8_t *end) {
    uint64_t sum = 0;
    for (const uint8_t *p = data; p + 2 <= end && p < data + 1500; p += 2)
        sum += (uint64_t)p[0] | (uint64_t)p[1] << 8;
    sum = (sum & 0xffff) + (sum >> 16);
    sum += sum >> 16;
    return (sum & 0xffff) ^ 0xffff;
}

uint64_t native_primes(uint64_t n) {
    uint64_t count = 0;
    for (uint64_t c = 2; c < n; c++) {
        uint64_t d = 2;
        for (;;) {
            if (d * d > c) { count++; break; }
            if (c % d == 0) break;
            d++;
        }
    }
    return count;
}

uint64_t native_divisions(uint64_t n) {
    uint64_t acc = 0, x = 0x123456789abcull;
    for (uint64_t i = n; i != 0; i--) {
        acc += x / i;
        acc ^= x % (i + 3);
        acc += (uint32_t)x / 7u;
        x += 0x9e3779b9ull;
    }
    return acc;
}

uint64_t native_two_insns(void) { return 2; }
