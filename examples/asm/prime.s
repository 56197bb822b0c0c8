# Counts the prime numbers below 10000 by trial division and returns the
# count (1229) in r0. Run it with:
#
#   cargo run --release -q -p oxbpf-cli -- run examples/asm/prime.s
#
# r0 = count, r1 = candidate, r2 = divisor; r3 and r4 are scratch.
	r0 = 0
	r1 = 2
outer:
	r2 = 2
inner:
	r3 = r2
	r3 *= r2
	if r3 > r1 goto prime		# no divisor up to the square root
	r4 = r1
	r4 %= r2
	if r4 == 0 goto next		# divisible: not a prime
	r2 += 1
	goto inner
prime:
	r0 += 1
next:
	r1 += 1
	if r1 < 10000 goto outer
	exit
