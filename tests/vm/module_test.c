// SPDX-License-Identifier: GPL-2.0
/*
 * oteltrace.ko loads, creates /dev/oteltrace for root only, and unloads
 * cleanly, leaving the device gone (scripts/vm fails the run on any kernel
 * report, so "cleanly" includes no WARN, oops or leak report).
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "vmtest.h"

TEST(load_creates_root_only_device)
{
	struct stat st;

	ASSERT_EQ(0, vm_load_oteltrace(NULL));
	ASSERT_EQ(0, stat("/dev/oteltrace", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	ASSERT_EQ(0, vm_unload_module("oteltrace"));
}

TEST(unload_removes_device)
{
	ASSERT_EQ(0, vm_load_oteltrace(NULL));
	ASSERT_EQ(0, vm_unload_module("oteltrace"));
	EXPECT_FALSE(vm_module_loaded("oteltrace"));
	EXPECT_EQ(-1, access("/dev/oteltrace", F_OK));
}

TEST(reload_cycles)
{
	int i;

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, vm_load_oteltrace(NULL));
		ASSERT_EQ(0, vm_unload_module("oteltrace"));
	}
}

TEST_HARNESS_MAIN
