# SPDX-License-Identifier: GPL-2.0
# Where `make install` puts user space (included by each program's
# Makefile).  Set on the make line, with DESTDIR for a staging root:
#   make install PREFIX=/usr DESTDIR=/tmp/root
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# Both are in systemd's search paths under /usr/local too.
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
VERSION := $(shell sed -n 's/^\#define OTELTRACE_VERSION "\(.*\)"$$/\1/p' \
	$(TOP)/kmod/version.h)
# Headers for applications: uapi/oteltrace.h and oteltrace_context.h
INCLUDEDIR ?= $(PREFIX)/include
