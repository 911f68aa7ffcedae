/* test_engine.c - lib/engine: placeholder until the suite lands. */
#include "config.h"
#include "engine/engine.h"
#include "vt.h"

int
main(void)
{
	VT_OK(vg_sev_score(VG_SEV_HIGH) > vg_sev_score(VG_SEV_MEDIUM), "severity scores order");
	return vt_done();
}
