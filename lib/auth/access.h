/*
 * access.h - who may do what to a project (the rule every later route of
 * projects, repositories, snapshots, profiles, scans and findings uses).
 *
 * A project's members have one role each: owner, member or viewer (the
 * project_members table).  The rule:
 *
 *   caller                     read   write  manage
 *   owner                      yes    yes    yes
 *   member                     yes    yes    403
 *   viewer                     yes    403    403
 *   group root, not a member   yes    yes    yes
 *   anyone else                404    404    404
 *
 * read: see the project and everything in it; write: add repositories,
 * upload, start and cancel scans, triage findings; manage: rename or
 * delete the project, change its members.  What a caller may not see at
 * all answers 404 (VG_ERR_NOT_FOUND), exactly as for a project that does
 * not exist, so ids cannot be probed; 403 only tells a caller who can
 * already see the project that the role falls short.
 */
#ifndef VG_AUTH_ACCESS_H
#define VG_AUTH_ACCESS_H

#include "auth/auth.h"
#include "core/err.h"

enum vg_project_role {
	VG_ROLE_NONE,      /* not a member */
	VG_ROLE_VIEWER,
	VG_ROLE_MEMBER,
	VG_ROLE_OWNER,
};

enum vg_project_need { VG_NEED_READ, VG_NEED_WRITE, VG_NEED_MANAGE };

/* "owner", "member", "viewer" -> role; anything else (and NULL) is NONE. */
enum vg_project_role vg_project_role_parse(const char *name);
/* The role's name ("none" for VG_ROLE_NONE). */
const char *vg_project_role_name(enum vg_project_role role);

/*
 * Whether p, whose role in the project is role (VG_ROLE_NONE when it has
 * none, or when the project does not exist), may do need: VG_OK,
 * VG_ERR_FORBIDDEN or VG_ERR_NOT_FOUND as in the table above.  A NULL p
 * (no principal) is VG_ERR_NOT_FOUND.
 */
enum vg_err vg_access_project(const struct vg_principal *p, enum vg_project_role role,
    enum vg_project_need need);

#endif
