/*
 * store_pg_scans.c - the postgres backend of the scan operations (store_impl.h).
 */
#include "config.h"
#include "store/store_impl.h"

const struct vg_store_scans_ops vg_store_pg_scans_ops = {
	.scan_get = NULL,
};
