# Label choices of llvm-objdump: a section with no symbol at its start is
# labelled with its own name; of several symbols at one address only the
# greatest name is shown (whatever their types); local labels count; empty
# code sections are not listed.
	.text
	.section s1,"ax",@progbits
	r0 = 1
L1:
	if r0 == 0 goto L1
	exit
	.section s2,"ax",@progbits
	.globl a
	.globl b
	.type a,@function
a:
b:
x:
	r0 = 2
	.type w,@function
w:
v:
	goto v
	r1 = 0x1122334455667788 ll
	goto x
	exit
