# Code sections without function symbols, as hand-written assembly (and
# iproute2-era objects) have them: each section is one program named
# after it.
	.section	socket,"ax",@progbits
	r0 = 1
	exit
	.section	xdp,"ax",@progbits
	r0 = 2
	r0 += 1
	exit
	.section	license,"aw",@progbits
	.asciz	"GPL"
