/*
 * plan.h - planning a scan: which files are audited, in which components
 * and in which order, what is skipped and why.
 *
 * Components follow package manifests (package.json, pom.xml, go.mod,
 * pyproject.toml/setup.py, Cargo.toml, Makefile/CMakeLists.txt, ...) and
 * top-level folders; a component over the size cap is split by its
 * subfolders.  Vendored, generated and minified code, binaries, oversized
 * files, symbolic links and the profile's out-of-scope globs are skipped.
 * Components are ranked by the profile's focus and by the entry points
 * their files show (HTTP handlers, CLI parsing, deserialisation, SQL,
 * subprocesses, file access, sockets).
 */
#ifndef VG_ENGINE_PLAN_H
#define VG_ENGINE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/err.h"
#include "engine/engine.h"
#include "engine/lex.h"

struct vg_plan_file {
	char *path;          /* relative, '/'-separated */
	enum vg_lang lang;
	uint64_t size;
	uint32_t comp;       /* index into comps */
	uint32_t cats;       /* entry-point categories seen in the file */
};

struct vg_plan_comp {
	char *name;          /* "." for the top level, else its folder (+ " (part N)") */
	char *root;          /* folder, "" for the top level */
	const char *kind;    /* "npm", "python", "go", ..., "folder" */
	uint64_t bytes;
	size_t nfiles;
	size_t nlang[VG_LANG__COUNT];
	uint32_t cats;
	size_t entry_files;
	int focus;           /* focus terms that named it */
	long score;
	size_t rank;         /* 1-based audit order */
};

struct vg_plan {
	struct vg_plan_file *files;   /* in audit order after vg_plan_build */
	size_t nfiles, fcap;
	struct vg_plan_comp *comps;   /* in rank order */
	size_t ncomps, ccap;
	uint64_t bytes;
	size_t seen;                  /* regular files looked at */
	json_t *skipped_dirs;         /* [{"path","reason"}] */
	json_t *skip_counts;          /* {"reason": n} */
	json_t *skip_examples;        /* {"reason": [paths]} */
	char *statement;              /* the coverage statement */
	uint64_t max_file_bytes, max_component_bytes;
};

/*
 * Walk root and build the plan.  prof may be NULL.  cancelled (may be
 * NULL) is polled while walking; VG_ERR_CONFLICT when it said stop.
 * *out is owned by the caller (vg_plan_free).
 */
enum vg_err vg_plan_build(const char *root, const struct vg_profile *prof,
    const struct vg_engine_limits *lim, bool (*cancelled)(void *), void *cctx,
    struct vg_plan **out);
void vg_plan_free(struct vg_plan *p);
/* The plan as the report's "plan" section (new reference). */
json_t *vg_plan_to_json(const struct vg_plan *p, const struct vg_profile *prof);
/* Names of the entry-point categories set in cats, as a JSON array. */
json_t *vg_plan_cats_json(uint32_t cats);

#endif
