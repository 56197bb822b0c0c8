// Global data sections: .data, .bss, .rodata, custom sections, externs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int counter = 1;
static int hidden_counter = 2;
long long zeroed;
static char buf[64];
const volatile int config_flag = 3;
const char greeting[] = "hello";
int custom_val SEC(".data.custom") = 4;
int custom_bss SEC(".bss.custom");
extern int ext_var __attribute__((weak));
extern const int kconfig_val __kconfig __weak;

static __attribute__((noinline)) int sub1(int x)
{
	return x * counter + hidden_counter;
}

__attribute__((noinline)) int global_func(int x, char *p)
{
	return x + p[0];
}

SEC("socket")
int prog(void *ctx)
{
	buf[0] = greeting[1];
	zeroed++;
	custom_bss = custom_val + kconfig_val;
	return sub1(config_flag) + global_func(1, buf) + (&ext_var ? ext_var : 0);
}

char LICENSE[] SEC("license") = "GPL";
