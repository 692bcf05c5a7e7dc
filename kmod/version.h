/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The oteltrace release: MODULE_VERSION() of oteltrace.ko, oteld --version,
 * and the version the packaging names (dkms.conf, debian/changelog; the
 * packaging test checks that they agree).  Change it here only.
 */
#ifndef _OTELTRACE_VERSION_H
#define _OTELTRACE_VERSION_H

#define OTELTRACE_VERSION "0.1.0"

#endif /* _OTELTRACE_VERSION_H */
