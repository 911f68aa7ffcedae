/*
 * store_json_scans.c - the json backend of the scan operations (store_impl.h).
 */
#include "config.h"
#include "store/store_impl.h"

const struct vg_store_scans_ops vg_store_json_scans_ops = {
	.scan_get = NULL,
};
