/* access.c - the project access rule of access.h, as tables. */
#include "config.h"
#include <string.h>
#include "auth/access.h"

static const char *const role_names[] = {
	[VG_ROLE_NONE] = "none",
	[VG_ROLE_VIEWER] = "viewer",
	[VG_ROLE_MEMBER] = "member",
	[VG_ROLE_OWNER] = "owner",
};

/* The least role each need asks for. */
static const enum vg_project_role least_role[] = {
	[VG_NEED_READ] = VG_ROLE_VIEWER,
	[VG_NEED_WRITE] = VG_ROLE_MEMBER,
	[VG_NEED_MANAGE] = VG_ROLE_OWNER,
};

enum vg_project_role
vg_project_role_parse(const char *name)
{
	size_t i;

	for (i = VG_ROLE_VIEWER; name && i < sizeof role_names / sizeof role_names[0]; i++)
		if (strcmp(name, role_names[i]) == 0)
			return (enum vg_project_role)i;
	return VG_ROLE_NONE;
}

const char *
vg_project_role_name(enum vg_project_role role)
{
	if ((unsigned)role >= sizeof role_names / sizeof role_names[0])
		return role_names[VG_ROLE_NONE];
	return role_names[role];
}

enum vg_err
vg_access_project(const struct vg_principal *p, enum vg_project_role role,
    enum vg_project_need need)
{
	if (!p || (unsigned)need >= sizeof least_role / sizeof least_role[0] ||
	    (unsigned)role >= sizeof role_names / sizeof role_names[0])
		return VG_ERR_NOT_FOUND;
	if (vg_principal_in(p, VG_GROUP_ROOT))
		return VG_OK;
	if (role == VG_ROLE_NONE)
		return VG_ERR_NOT_FOUND;
	return role >= least_role[need] ? VG_OK : VG_ERR_FORBIDDEN;
}
