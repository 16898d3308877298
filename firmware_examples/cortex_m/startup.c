/*
 * Minimal startup for a Cortex-M4F: vector table, reset handler (copy .data, zero .bss, enable the
 * FPU, call main, exit with its status), fault reporting, SysTick, semihosting.
 * Written for the MPS2-AN386 memory map (mps2_an386.ld) but nothing here is board-specific beyond
 * FW_CPU_HZ: the registers used are the Cortex-M4's own (System Control Block, SysTick).
 */
#include "fw.h"

int main(void);

/* Symbols of the linker script */
extern uint32_t fw_data_start[], fw_data_end[], fw_data_load[];
extern uint32_t fw_bss_start[], fw_bss_end[];
extern uint32_t fw_stack_bottom[], fw_stack_top[];

/* Cortex-M4 system registers */
#define REG(addr) (*(volatile uint32_t *)(addr))
#define SCB_CPACR REG(0xE000ED88u)  /* coprocessor access: CP10, CP11 = the FPU */
#define SCB_CFSR REG(0xE000ED28u)   /* configurable fault status (MMFSR, BFSR, UFSR) */
#define SCB_HFSR REG(0xE000ED2Cu)   /* hard fault status */
#define SCB_MMFAR REG(0xE000ED34u)  /* memory management fault address */
#define SCB_BFAR REG(0xE000ED38u)   /* bus fault address */
#define SCB_SHCSR REG(0xE000ED24u)  /* system handler control: enables the separate faults */
#define SYST_CSR REG(0xE000E010u)   /* SysTick control and status */
#define SYST_RVR REG(0xE000E014u)   /* SysTick reload value */
#define SYST_CVR REG(0xE000E018u)   /* SysTick current value */
#define SYST_MAX 0x00FFFFFFu        /* SysTick is a 24-bit down-counter */
#define SCB_ICSR REG(0xE000ED04u)   /* interrupt control and state */
#define ICSR_PENDSTSET (1u << 26)   /* SysTick exception pending */

#define STACK_PATTERN 0xA5A5A5A5u

/* ---------------------------------------------------------------------------------------- */
/* Semihosting: BKPT 0xAB with the operation in r0 and its argument in r1.                    */

#define SYS_WRITE0 0x04u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt #0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void fw_write(const char *s)
{
    (void)semihost(SYS_WRITE0, s);
}

void fw_write_uint(uint64_t value)
{
    char text[21];
    size_t i = sizeof text - 1;
    text[i] = '\0';
    do {
        text[--i] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    fw_write(text + i);
}

void fw_write_tenths(uint64_t value)
{
    char frac[3];
    fw_write_uint(value / 10u);
    frac[0] = '.';
    frac[1] = (char)('0' + (int)(value % 10u));
    frac[2] = '\0';
    fw_write(frac);
}

void fw_exit(int status)
{
    uint32_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)status;
    for (;;) {
        (void)semihost(SYS_EXIT_EXTENDED, block);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* SysTick: the CPU clock, 24 bits, wraps counted by the interrupt.                           */

static volatile uint32_t systick_wraps;

static void systick_handler(void)
{
    systick_wraps++;
}

void fw_ticks_start(void)
{
    uint32_t spin;
    SYST_CSR = 0u;
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0u; /* any write clears the counter; it reloads from RVR on the next clock */
    SYST_CSR = 7u; /* enable, interrupt on wrap, clock = the processor clock */
    for (spin = 0; spin < 1000u && SYST_CVR == 0u; ++spin) {
        /* wait for the reload, so that 0 below only ever means the end of a period */
    }
    systick_wraps = 0u;
}

uint64_t fw_ticks(void)
{
    uint32_t wraps, value;
    __asm__ volatile("cpsid i" ::: "memory");
    wraps = systick_wraps;
    value = SYST_CVR;
    if (SCB_ICSR & ICSR_PENDSTSET) { /* a wrap the interrupt has not counted yet */
        value = SYST_CVR;
        if (value != 0u) { /* reloaded: the new period */
            wraps += 1u;
        }
    }
    __asm__ volatile("cpsie i" ::: "memory");
    return (uint64_t)wraps * (SYST_MAX + 1u) + (SYST_MAX - value);
}

/* ---------------------------------------------------------------------------------------- */
/* Stack high-water mark                                                                      */

size_t fw_stack_size(void)
{
    return (size_t)((uintptr_t)fw_stack_top - (uintptr_t)fw_stack_bottom);
}

size_t fw_stack_peak(void)
{
    const volatile uint32_t *p = fw_stack_bottom;
    while (p < fw_stack_top && *p == STACK_PATTERN) {
        ++p;
    }
    return (size_t)((uintptr_t)fw_stack_top - (uintptr_t)p);
}

/* ---------------------------------------------------------------------------------------- */
/* Faults: say which one and where, then exit with status 3.                                  */

static const char *const exception_names[] = {
    "none", "reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault",
};

static void write_hex(uint32_t value)
{
    char text[11];
    int i;
    text[0] = '0';
    text[1] = 'x';
    for (i = 0; i < 8; ++i) {
        text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    fw_write(text);
}

/* Called by fault_entry with the exception frame the hardware stacked (r0-r3, r12, lr, pc, xpsr). */
__attribute__((used)) void fw_fault_report(const uint32_t *frame, uint32_t ipsr)
{
    uint32_t n = ipsr & 0x1FFu;
    fw_write("\nFAULT: ");
    fw_write(n < sizeof exception_names / sizeof exception_names[0] ? exception_names[n]
                                                                       : "exception");
    fw_write(" (exception ");
    fw_write_uint(n);
    fw_write(") at pc ");
    write_hex(frame[6]);
    fw_write(", lr ");
    write_hex(frame[5]);
    fw_write("\n  CFSR ");
    write_hex(SCB_CFSR);
    fw_write(" HFSR ");
    write_hex(SCB_HFSR);
    fw_write(" MMFAR ");
    write_hex(SCB_MMFAR);
    fw_write(" BFAR ");
    write_hex(SCB_BFAR);
    fw_write("\n  (CFSR bits: see the Cortex-M4 Generic User Guide, 4.3.10; arm-none-eabi-addr2line"
             " -e app.elf <pc> names the source line)\n");
    fw_exit(3);
}

/* The frame is on the main or the process stack, as bit 2 of EXC_RETURN (lr) says. */
__attribute__((naked)) static void fault_entry(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "mrs r1, ipsr\n\t"
                     "b fw_fault_report\n\t");
}

/* ---------------------------------------------------------------------------------------- */
/* Reset                                                                                      */

static void reset_handler(void);

/* Cortex-M vector table: the initial stack pointer, then the handlers of exceptions 1 to 15. */
typedef void (*fw_handler)(void);
typedef struct {
    uint32_t *initial_sp;
    fw_handler handlers[15];
} fw_vector_table;

__attribute__((used, section(".vectors"))) static const fw_vector_table vectors = {
    fw_stack_top,
    {
        reset_handler,
        fault_entry, /* NMI */
        fault_entry, /* HardFault */
        fault_entry, /* MemManage */
        fault_entry, /* BusFault */
        fault_entry, /* UsageFault */
        0, 0, 0, 0,  /* reserved */
        fault_entry, /* SVCall: not used */
        fault_entry, /* DebugMonitor: not used */
        0,           /* reserved */
        fault_entry, /* PendSV: not used */
        systick_handler,
    },
};

/* Entry point of the ELF (QEMU and debuggers); the hardware takes the table's entry. */
void fw_reset_handler(void);
void fw_reset_handler(void)
{
    reset_handler();
}

static void reset_handler(void)
{
    volatile uint32_t *dst;
    const uint32_t *src;
    uint32_t sp;

    /* Full access to CP10 and CP11 (the FPU) before any floating-point instruction runs: the
     * hard-float ABI uses the FPU registers, and without this the first one is a UsageFault
     * (CFSR NOCP). */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* Separate MemManage, BusFault and UsageFault handlers, so a fault reports its own kind. */
    SCB_SHCSR |= 7u << 16;

    for (src = fw_data_load, dst = fw_data_start; dst < fw_data_end; ++src, ++dst) {
        *dst = *src;
    }
    for (dst = fw_bss_start; dst < fw_bss_end; ++dst) {
        *dst = 0u;
    }
    /* Fill the unused stack with a pattern, for fw_stack_peak. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = fw_stack_bottom; (uintptr_t)dst < sp - 64u; ++dst) {
        *dst = STACK_PATTERN;
    }

    fw_exit(main());
}
