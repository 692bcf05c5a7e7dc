# SPDX-License-Identifier: GPL-2.0
#
# oteltrace top-level Makefile.
#
#   make                 modules (against the test kernel) + user space + tests
#   make KDIR=/lib/modules/$(uname -r)/build   modules for a real host kernel
#   make check           set up, build, run host tests, lint, in-VM tests
#                        (the in-VM suite on every kernel of the matrix)
#   make matrix          the modules for the matrix's other kernels
#   make check-debug     the in-VM suite on a lockdep/KASAN/kmemleak kernel
#                        (kernel built once, 11-15 min; not in make check)
#   make demo            the end-to-end demo in a VM
#   make fuzz            every fuzzer for a time budget (FUZZ_SECONDS per
#                        target), the device fuzzer in a VM; fails on a crash
#   make bench           benchmarks (docs/benchmarks.md)
#   make C=1 W=1         sparse and extra warnings on the modules
#   make install         user space, the service, the module's DKMS sources
#   make deb             Debian packages oteltrace-dkms and oteld (build/deb/)
#
# scripts/setup installs what is missing; it runs by itself the first time.

TOP := $(CURDIR)
CACHE ?= $(TOP)/.cache
BUILD ?= $(TOP)/build
# The release, defined once in kmod/version.h.
OTELTRACE_VERSION := $(shell sed -n 's/^\#define OTELTRACE_VERSION "\(.*\)"$$/\1/p' $(TOP)/kmod/version.h)

# Test kernel release, resolved by scripts/setup (never pinned here).
KREL = $(shell cat $(CACHE)/kernel-release 2>/dev/null)
KDIR = /lib/modules/$(KREL)/build

KMAKE = $(MAKE) -C $(KDIR)
# Modules that use the span API link against oteltrace's Module.symvers,
# exactly as an out-of-tree driver would.
KMAKE_USER = $(KMAKE) KBUILD_EXTRA_SYMBOLS=$(TOP)/Module.symvers OTELTRACE=$(TOP)

export TOP CACHE BUILD KREL

.PHONY: all setup modules demo-module test-modules userspace tests \
	matrix check check-debug fuzz demo bench lint clean distclean install \
	install-userspace install-dkms deb

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

# make fuzz [FUZZ_SECONDS=60] [FUZZ_DEV_SECONDS=120]: tests/fuzz/README.md
fuzz: setup
	@$(MAKE) --no-print-directory all matrix
	@$(MAKE) --no-print-directory -C tests/fuzz fuzzers
	@scripts/fuzz

# The debug-kernel lane (scripts/check-debug, docs/testing.md).
check-debug: setup
	@$(MAKE) --no-print-directory all
	@scripts/check-debug

demo: setup
	@# make demo TRACEPARENT=00-<trace id>-<span id>-01: the last trace's parent
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench: setup
	@$(MAKE) --no-print-directory all
	@scripts/bench

lint: $(CACHE)/kernel-release userspace
	@scripts/lint
	@tests/pkg/pkgcheck

# make install [PREFIX=/usr/local] [DESTDIR=]: oteld, otelctl, their man
# pages, oteld.service and its settings (userspace/install.mk), and the
# module's sources for DKMS.  Nothing here needs the test kernel.
install: install-userspace install-dkms

install-userspace:
	$(MAKE) -C userspace install

# The module's sources as DKMS takes them: /usr/src/oteltrace-VERSION with
# dkms.conf at its root (docs/packaging.md).  Only copies files.
DKMS_SRC = $(DESTDIR)/usr/src/oteltrace-$(OTELTRACE_VERSION)
DKMS_FILES = dkms.conf Kbuild uapi/oteltrace.h kmod/Kbuild kmod/Makefile \
	$(filter-out %.mod.c kmod/syscall_names.h,$(wildcard kmod/*.[ch])) \
	kmod/demo/Kbuild kmod/demo/otel_demo.c
install-dkms:
	@for f in $(DKMS_FILES); do \
		install -D -m 644 $$f $(DKMS_SRC)/$$f || exit 1; \
	done
	install -m 755 kmod/dkms-post-build $(DKMS_SRC)/kmod/dkms-post-build
	install -m 755 kmod/gen-syscall-names $(DKMS_SRC)/kmod/gen-syscall-names

# Debian packages from a fresh clone of HEAD (scripts/mkdeb, docs/packaging.md).
deb:
	@scripts/mkdeb

clean:
	-$(KMAKE) M=$(TOP) clean
	-$(KMAKE) M=$(TOP)/kmod/demo clean
	-$(KMAKE) M=$(TOP)/tests/kmod clean
	-$(KMAKE) M=$(TOP)/kmod/template clean
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(CACHE)
