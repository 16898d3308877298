# Build targets of the rtu_edge C core: what each TARGET and PRECISION means.
#
# c_src/Makefile includes this file, and so can any other Makefile that compiles against the core
# (firmware, examples):
#
#     include path/to/c_src/targets.mk          # reads TARGET and PRECISION (defaults host, float)
#     app: app.c $(RTU_LIB)
#             $(RTU_CC) $(RTU_CFLAGS) -I$(RTU_INC) app.c $(RTU_LIB) $(RTU_LDLIBS) -o app
#     $(RTU_LIB):
#             $(MAKE) -C $(RTU_DIR) TARGET=$(TARGET) PRECISION=$(PRECISION)
#
# or, without including it, ask c_src/Makefile:
#     make -s --no-print-directory -C c_src print-cc TARGET=aarch64   (also print-cflags,
#     print-ldlibs, print-run, print-lib, print-inc, or print-VAR for any variable below)
#
#   TARGET      host (default; $(CC), gcc unless CC is given, clang works too), aarch64 (64-bit
#               Raspberry Pi OS: aarch64-linux-gnu-gcc), armhf (32-bit Raspberry Pi OS on a Pi 2/3:
#               arm-linux-gnueabihf-gcc), cortex-m4 (bare metal with FPU: arm-none-eabi-gcc)
#   PRECISION   float (default; rtu_real is float) or double (-DRTU_DOUBLE)
#
# Variables set (the RTU_ names are the stable interface; CC, CFLAGS and RUN are set to the same
# values for Makefiles that want plain names: include this file first, then append to them):
#   RTU_DIR        this directory (c_src/), absolute, with a trailing slash
#   RTU_INC        the include directory (= RTU_DIR)
#   RTU_CC         the C compiler of TARGET
#   RTU_AR         the archiver of TARGET
#   RTU_ARCH_FLAGS the CPU/FPU/ABI flags of TARGET alone (give them to the linker too)
#   RTU_CFLAGS     -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -fno-trapping-math
#                  -ffp-contract=off, RTU_ARCH_FLAGS, -DRTU_DOUBLE for PRECISION=double, and
#                  EXTRA_CFLAGS (empty unless you give it). -fno-trapping-math lets gcc vectorise
#                  loops that compare or clamp floats (the float tanh); the core never reads the
#                  floating-point exception flags, and no result changes. -ffp-contract=off: no
#                  multiply-add is fused unless the core asks for it (RTU_FMA), so every target
#                  sums in the same order with the same roundings (gcc's default under -std=c99
#                  already; clang fuses by default, on aarch64 and with -march=native).
#   RTU_LDLIBS     -lm
#   RTU_RUN        how to run a program built for TARGET on this machine: empty for host,
#                  qemu-aarch64 -L /usr/aarch64-linux-gnu, qemu-arm -L /usr/arm-linux-gnueabihf;
#                  empty for cortex-m4, which has no runner here (RTU_CAN_RUN is then no)
#   RTU_CAN_RUN    yes or no
#   RTU_BUILD      $(RTU_BUILD_ROOT)$(TARGET)-$(PRECISION)/, where RTU_BUILD_ROOT defaults to
#                  $(RTU_DIR)build/ (tests/test_c_targets.py points it at a temporary directory)
#   RTU_LIB        $(RTU_BUILD)librtu_edge.a, the static library of every c_src/*.c
#
# For cross targets the compiler is fixed by TARGET, even when a parent make passes CC (CC means
# the host compiler); to use another cross compiler, set AARCH64_CC, ARMHF_CC or CORTEX_M4_CC.

ifndef RTU_TARGETS_MK_INCLUDED
RTU_TARGETS_MK_INCLUDED := 1

RTU_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))/
RTU_INC := $(RTU_DIR)

TARGET ?= host
PRECISION ?= float

RTU_TARGETS := host aarch64 armhf cortex-m4
RTU_PRECISIONS := float double

ifeq ($(filter $(TARGET),$(RTU_TARGETS)),)
$(error TARGET=$(TARGET) is not one of: $(RTU_TARGETS))
endif
ifeq ($(filter $(PRECISION),$(RTU_PRECISIONS)),)
$(error PRECISION=$(PRECISION) is not one of: $(RTU_PRECISIONS))
endif

AARCH64_CC ?= aarch64-linux-gnu-gcc
ARMHF_CC ?= arm-linux-gnueabihf-gcc
CORTEX_M4_CC ?= arm-none-eabi-gcc

ifeq ($(TARGET),host)
  ifeq ($(origin CC),default)   # make's built-in "cc": use gcc; make CC=clang (or env CC) wins
    CC := gcc
  endif
  RTU_CC := $(CC)
  RTU_AR := $(if $(filter default,$(origin AR)),ar,$(AR))
  RTU_ARCH_FLAGS :=
  RTU_RUN :=
  RTU_CAN_RUN := yes
else ifeq ($(TARGET),aarch64)   # Raspberry Pi 3/4/5 with 64-bit Raspberry Pi OS
  RTU_CC := $(AARCH64_CC)
  RTU_AR := aarch64-linux-gnu-ar
  RTU_ARCH_FLAGS := -march=armv8-a
  RTU_RUN := qemu-aarch64 -L /usr/aarch64-linux-gnu
  RTU_CAN_RUN := yes
else ifeq ($(TARGET),armhf)     # Raspberry Pi 2/3 with 32-bit Raspberry Pi OS (hard float)
  RTU_CC := $(ARMHF_CC)
  RTU_AR := arm-linux-gnueabihf-ar
  RTU_ARCH_FLAGS := -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard
  RTU_RUN := qemu-arm -L /usr/arm-linux-gnueabihf
  RTU_CAN_RUN := yes
else ifeq ($(TARGET),cortex-m4) # bare-metal Cortex-M4F (single-precision FPU; double is software)
  RTU_CC := $(CORTEX_M4_CC)
  RTU_AR := arm-none-eabi-ar
  RTU_ARCH_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
  RTU_RUN :=
  RTU_CAN_RUN := no
endif

RTU_PRECISION_FLAGS := $(if $(filter double,$(PRECISION)),-DRTU_DOUBLE,)
RTU_CFLAGS := $(strip -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -fno-trapping-math -ffp-contract=off \
              $(RTU_ARCH_FLAGS) $(RTU_PRECISION_FLAGS) $(EXTRA_CFLAGS))
RTU_LDLIBS := -lm
RTU_BUILD_ROOT ?= $(RTU_DIR)build/
RTU_BUILD := $(abspath $(RTU_BUILD_ROOT))/$(TARGET)-$(PRECISION)/
RTU_LIB := $(RTU_BUILD)librtu_edge.a

# the plain names, for Makefiles that want them (cross targets override a CC passed down by a
# parent make: CC there is the host compiler)
ifeq ($(TARGET),host)
  CC := $(RTU_CC)
else
  override CC := $(RTU_CC)
endif
CFLAGS := $(RTU_CFLAGS)
RUN := $(RTU_RUN)

endif # RTU_TARGETS_MK_INCLUDED
