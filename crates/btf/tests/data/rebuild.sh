#!/usr/bin/env bash
# Rebuilds the test objects and bpftool's reference dumps. The tests use the
# checked-in results and need neither clang nor bpftool.
set -euo pipefail
cd "$(dirname "$0")"
for c in *.c; do
	o="${c%.c}.o"
	# The prefix map keeps the build directory out of line_info file names.
	clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -fdebug-prefix-map="$PWD"=. -c "$c" -o "$o"
	bpftool btf dump file "$o" > "${c%.c}.bpftool.txt"
	bpftool -j btf dump file "$o" > "${c%.c}.bpftool.json"
	bpftool btf dump file "$o" format c > "${c%.c}.bpftool.h"
done
