/*
 * The board support of the Cortex-M example (startup.c): semihosting output and exit, a cycle-
 * clock timer and the stack's high-water mark. Only the example's main uses it; the rtu_edge core
 * (c_src/) has no I/O of any kind.
 */
#ifndef FW_H
#define FW_H

#include <stddef.h>
#include <stdint.h>

/* The CPU clock of the MPS2 board (SYSCLK), which also drives SysTick in QEMU's model. */
#define FW_CPU_HZ 25000000u

/* Text to the debugger's console (semihosting SYS_WRITE0). Needs a debugger or QEMU's
 * -semihosting: on a board without one the BKPT instruction faults. */
void fw_write(const char *s);
void fw_write_uint(uint64_t value);
/* value / 10 with one decimal, e.g. 1234 -> "123.4". */
void fw_write_tenths(uint64_t value);

/* End the program with an exit status (semihosting SYS_EXIT_EXTENDED): QEMU exits with it. */
void fw_exit(int status);

/* SysTick counts the CPU clock; fw_ticks gives the ticks since fw_ticks_start (64 bits, the
 * 24-bit counter's wraps counted by its interrupt). */
void fw_ticks_start(void);
uint64_t fw_ticks(void);

/* Bytes of the stack ever used since reset (the reset handler fills the stack with a pattern). */
size_t fw_stack_peak(void);
size_t fw_stack_size(void);

#endif /* FW_H */
