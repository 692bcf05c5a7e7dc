/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run a check in a forked child that is not root: uid and gid 65534, a
 * member of PRIV_GROUP (the group= of the module under test), with no
 * capability or only those asked for.  The child reports its first failed
 * check through a shared page (CHILD_CHECK()), the parent asserts on it.
 */
#ifndef _OTELTRACE_PRIV_UTIL_H
#define _OTELTRACE_PRIV_UTIL_H

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PRIV_UID	65534
#define PRIV_GROUP	4242

#define PRIV_CAP(c)	(1ULL << (c))

struct child_msg {
	char	why[512];
};

static inline struct child_msg *child_msg_map(void)
{
	void *p = mmap(NULL, sizeof(struct child_msg), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Set the permitted and effective capabilities to exactly @caps. */
static inline int priv_set_caps(uint64_t caps)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)caps;
	data[1].permitted = data[1].effective = (uint32_t)(caps >> 32);
	return syscall(SYS_capset, &hdr, data);
}

/* Become uid/gid PRIV_UID in group @group, with capabilities @caps only. */
static inline int priv_drop(gid_t group, uint64_t caps)
{
	gid_t groups[1] = { group };

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(1, groups) ||
	    setresgid(PRIV_UID, PRIV_UID, PRIV_UID) ||
	    setresuid(PRIV_UID, PRIV_UID, PRIV_UID) || priv_set_caps(caps) ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return -errno;
	return 0;
}

/*
 * Fork; the child drops to @caps in PRIV_GROUP and runs @fn.  Returns the
 * child's exit status (0: every check held, else m->why says which did not)
 * or -1 if it did not exit normally.
 */
static inline int priv_run(uint64_t caps, int (*fn)(struct child_msg *, void *),
			   struct child_msg *m, void *arg)
{
	int status, err;
	pid_t pid;

	memset(m, 0, sizeof(*m));
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		err = priv_drop(PRIV_GROUP, caps);
		if (err) {
			snprintf(m->why, sizeof(m->why), "dropping privileges: %s",
				 strerror(-err));
			_exit(1);
		}
		_exit(fn(m, arg) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define CHILD_CHECK(m, cond)						\
	do {								\
		if (!(cond)) {						\
			snprintf((m)->why, sizeof((m)->why),		\
				 "line %d: %s (errno %s)", __LINE__,	\
				 #cond, strerror(errno));		\
			return 1;					\
		}							\
	} while (0)

/* Send @fd over the socket @sock (SCM_RIGHTS): 0 or -errno. */
static inline int priv_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

/* Receive a file descriptor from @sock: the fd or -errno. */
static inline int priv_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

#endif /* _OTELTRACE_PRIV_UTIL_H */
