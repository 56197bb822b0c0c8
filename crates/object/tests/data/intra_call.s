# A bpf-to-bpf call inside a code section without function symbols (as
# hand-written or iproute2-era code has them): `call +2` with src_reg 1 and
# no relocation, to a subprogram in the same section. It stays as it is.
	.section	socket,"ax",@progbits
	.byte	0x85, 0x10, 0, 0, 2, 0, 0, 0	# call pc+2 (BPF_PSEUDO_CALL)
	r0 += 1
	exit
	r0 = 41
	exit
	.section	license,"aw",@progbits
	.asciz	"GPL"
