/*
 * vt.h - the unit-test harness: TAP output, table-driven checks.
 *
 * Each test program calls vt_plan-free checks and ends with vt_done(),
 * which prints the plan and returns the exit status.  Every check prints
 * one TAP line; a failure also prints "# file:line: what" so the failing
 * case is found at once.  Checks never abort, so one run shows every
 * failure.
 */
#ifndef VG_TESTS_VT_H
#define VG_TESTS_VT_H

#include <stdio.h>
#include <string.h>

static int vt_count, vt_failed;

static inline int
vt_check(int ok, const char *file, int line, const char *name, const char *what)
{
	vt_count++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", vt_count, name);
	if (!ok) {
		vt_failed++;
		printf("# %s:%d: %s\n", file, line, what);
	}
	fflush(stdout);
	return ok;
}

/* VT_OK(cond, name): cond must hold. */
#define VT_OK(cond, name) vt_check(!!(cond), __FILE__, __LINE__, (name), #cond)

/* VT_EQ_INT(got, want, name) */
#define VT_EQ_INT(got, want, name) do { \
	long long vt_g_ = (long long)(got), vt_w_ = (long long)(want); \
	char vt_m_[160]; \
	snprintf(vt_m_, sizeof vt_m_, "%s = %lld, want %lld", #got, vt_g_, vt_w_); \
	vt_check(vt_g_ == vt_w_, __FILE__, __LINE__, (name), vt_m_); \
} while (0)

/* VT_EQ_STR(got, want, name): NULL equals only NULL. */
#define VT_EQ_STR(got, want, name) do { \
	const char *vt_g_ = (got), *vt_w_ = (want); \
	char vt_m_[512]; \
	int vt_ok_ = (vt_g_ && vt_w_) ? strcmp(vt_g_, vt_w_) == 0 : vt_g_ == vt_w_; \
	snprintf(vt_m_, sizeof vt_m_, "%s = \"%s\", want \"%s\"", #got, \
	    vt_g_ ? vt_g_ : "(null)", vt_w_ ? vt_w_ : "(null)"); \
	vt_check(vt_ok_, __FILE__, __LINE__, (name), vt_m_); \
} while (0)

static inline int
vt_done(void)
{
	printf("1..%d\n", vt_count);
	return vt_failed ? 1 : 0;
}

#endif
