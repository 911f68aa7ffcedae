/*
 * settings.h - VEGA_* settings: read once from the environment, validated,
 * then read-only for the life of the process (DESIGN.md section 9).
 *
 * The list itself is settings_table.h.  Accessors take a VG_SET_* id, so a
 * misspelt setting is a compile error, not a silent default.
 */
#ifndef VG_CORE_SETTINGS_H
#define VG_CORE_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/err.h"

enum vg_setting_id {
#define VG_SETTING(id, name, type, def, min, max, choices, secret, help) VG_SET_##id,
#include "core/settings_table.h"
#undef VG_SETTING
	VG_SET__COUNT
};

enum vg_setting_type { VG_TYPE_STRING, VG_TYPE_INT, VG_TYPE_BOOL, VG_TYPE_ENUM };

struct vg_setting_def {
	const char *name;
	enum vg_setting_type type;
	const char *def;
	int64_t min, max;
	const char *choices;
	bool secret;
	const char *help;
};

/*
 * Read every setting from getenv() and validate it.  On failure returns
 * VG_ERR_INVALID and writes a message naming the variable and what it
 * accepts into msg.  Calling it again re-reads the environment (tests).
 */
enum vg_err vg_settings_load(char *msg, size_t msglen);
/* Load, or print the message to stderr and exit(2): for main()s. */
void vg_settings_load_or_exit(const char *program);

const char *vg_cfg_str(enum vg_setting_id id);   /* STRING and ENUM */
int64_t vg_cfg_int(enum vg_setting_id id);       /* INT */
bool vg_cfg_bool(enum vg_setting_id id);         /* BOOL */
/* Whether an ENUM setting currently equals value. */
bool vg_cfg_is(enum vg_setting_id id, const char *value);

const struct vg_setting_def *vg_settings_defs(size_t *count);
/* Print NAME=value lines of the effective settings, secrets redacted. */
void vg_settings_print(FILE *out);
/* Print the README's configuration table (Markdown). */
void vg_settings_print_markdown(FILE *out);

#endif
