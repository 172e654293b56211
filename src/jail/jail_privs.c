/* Last step before exec: become uid:gid with no supplementary groups, no
 * capability in any set (effective, permitted, inheritable, bounding,
 * ambient; libcap), and no_new_privs, then verify all of it, so a failure
 * here can never exec femtovm with privileges left over. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "jail/jail.h"

static int jail_privs_check(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	cap_t now = cap_get_proc(), none = cap_init();
	int same;

	if (!now || !none) {
		cap_free(now);
		cap_free(none);
		return jail_err(ENOMEM, "drop-privileges", "cap_get_proc failed");
	}
	same = cap_compare(now, none) == 0;
	cap_free(now);
	cap_free(none);
	if (!same)
		return jail_err(EPERM, "drop-privileges", "capabilities still set");
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (cap_get_bound(c) != 0)
			return jail_err(EPERM, "drop-privileges", "capability %d still in the "
					"bounding set", c);
		if (CAP_AMBIENT_SUPPORTED() && cap_get_ambient(c) > 0)
			return jail_err(EPERM, "drop-privileges", "capability %d still ambient", c);
	}
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0)
		return jail_err(EPERM, "drop-privileges", "uid/gid/groups not as requested");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return jail_err(EPERM, "drop-privileges", "no_new_privs not set");
	return 0;
}

int jail_drop_privs(uid_t uid, gid_t gid)
{
	cap_t none;
	int ret;

	/* Dropping from the bounding set needs CAP_SETPCAP: before setresuid. */
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++)
		if (cap_drop_bound(c) < 0)
			return jail_err(errno, "drop-privileges", "bounding set, capability %d: %s",
					c, strerror(errno));
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0)
		return jail_err(errno, "drop-privileges", "ambient set: %s", strerror(errno));
	if (setgroups(0, NULL) < 0)
		return jail_err(errno, "drop-privileges", "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return jail_err(errno, "drop-privileges", "setresgid %u: %s", (unsigned)gid,
				strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return jail_err(errno, "drop-privileges", "setresuid %u: %s", (unsigned)uid,
				strerror(errno));
	/* setresuid clears permitted/effective for a non-zero uid but never
	 * inheritable, and nothing for uid 0: clear all three explicitly. */
	none = cap_init();
	if (!none)
		return jail_err(ENOMEM, "drop-privileges", "cap_init failed");
	ret = cap_set_proc(none);
	cap_free(none);
	if (ret < 0)
		return jail_err(errno, "drop-privileges", "cap_set_proc: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_err(errno, "drop-privileges", "no_new_privs: %s", strerror(errno));
	return jail_privs_check(uid, gid);
}
