# SPDX-License-Identifier: GPL-2.0
#
# oteltrace top-level Makefile.
#
#   make                 modules (against the test kernel) + user space + tests
#   make KDIR=/lib/modules/$(uname -r)/build   modules for a real host kernel
#   make check           set up, build, run host tests, lint, in-VM tests
#                        (the in-VM suite on every kernel of the matrix)
#   make matrix          the modules for the matrix's other kernels
#   make demo            the end-to-end demo in a VM
#   make bench           benchmarks (docs/benchmarks.md)
#   make C=1 W=1         sparse and extra warnings on the modules
#
# scripts/setup installs what is missing; it runs by itself the first time.

TOP := $(CURDIR)
CACHE ?= $(TOP)/.cache
BUILD ?= $(TOP)/build
OTELTRACE_VERSION := 0.1.0

# Test kernel release, resolved by scripts/setup (never pinned here).
KREL = $(shell cat $(CACHE)/kernel-release 2>/dev/null)
KDIR = /lib/modules/$(KREL)/build

KMAKE = $(MAKE) -C $(KDIR) OTELTRACE_VERSION=$(OTELTRACE_VERSION)
# Modules that use the span API link against oteltrace's Module.symvers,
# exactly as an out-of-tree driver would.
KMAKE_USER = $(KMAKE) KBUILD_EXTRA_SYMBOLS=$(TOP)/Module.symvers OTELTRACE=$(TOP)

export TOP CACHE BUILD KREL

.PHONY: all setup modules demo-module test-modules userspace tests \
	matrix check demo bench lint clean distclean

all: modules demo-module test-modules userspace tests

setup:
	@scripts/setup

$(CACHE)/kernel-release:
	@scripts/setup

modules: $(CACHE)/kernel-release
	$(KMAKE) M=$(TOP) modules

demo-module: modules
	@if [ -f kmod/demo/Kbuild ]; then $(KMAKE_USER) M=$(TOP)/kmod/demo modules; fi

test-modules: modules
	$(KMAKE_USER) M=$(TOP)/tests/kmod modules

userspace: $(CACHE)/kernel-release
	$(MAKE) -C userspace

tests: userspace
	$(MAKE) -C tests

# The other kernels of the test matrix (scripts/setup): built in copies
# under $(BUILD)/k/RELEASE.
matrix: $(CACHE)/kernel-release
	@scripts/kbuild-matrix

check: setup
	@$(MAKE) --no-print-directory all matrix
	@scripts/check

demo: setup
	@# make demo TRACEPARENT=00-<trace id>-<span id>-01: the last trace's parent
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench: setup
	@$(MAKE) --no-print-directory all
	@scripts/bench

lint: $(CACHE)/kernel-release
	@scripts/lint

clean:
	-$(KMAKE) M=$(TOP) clean
	-$(KMAKE) M=$(TOP)/kmod/demo clean
	-$(KMAKE) M=$(TOP)/tests/kmod clean
	-$(KMAKE) M=$(TOP)/kmod/template clean
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(CACHE)
