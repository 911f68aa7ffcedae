/*
 * minimal-fcgi - the baseline of bench/healthz.sh: the smallest libfcgi
 * program, answering every request with the same fixed JSON body as
 * vega-ops' GET /v1/healthz.  Whatever vega-ops costs on top of this is
 * Vega's own (settings, request parsing, routing, logging, headers).
 */
#include "config.h"
#include <fcgiapp.h>

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 75\r\n"
    "\r\n"
    "{\"status\":\"ok\",\"version\":\"0.1.0\",\"role\":\"ops\",\"persistence_backend\":\"json\"}";

int
main(void)
{
	FCGX_Request r;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0)
		FCGX_PutStr(response, (int)sizeof response - 1, r.out);
	FCGX_Free(&r, 1);
	return 0;
}
