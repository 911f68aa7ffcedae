/*
 * test_llm_usage.c - lib/llm/usage: the usage of every terminal form of
 * both dialects, the details counted once, and whole streams read through
 * the SSE parser as the proxy reads them.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "llm/sse.h"
#include "llm/usage.h"
#include "vt.h"

#define CHAT VG_LLM_API_CHAT
#define RESP VG_LLM_API_RESPONSES

static const struct {
	const char *name;
	enum vg_llm_api api;
	const char *json;
	enum vg_err err;
	int64_t in, cached, out, reasoning, total;
} usage_cases[] = {
	{"chat with details", CHAT,
	    "{\"prompt_tokens\":100,\"completion_tokens\":50,\"total_tokens\":150,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":40,\"audio_tokens\":0},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":30}}",
	    VG_OK, 100, 40, 50, 30, 150},
	{"chat without details", CHAT, "{\"prompt_tokens\":7,\"completion_tokens\":3}",
	    VG_OK, 7, 0, 3, 0, 10},
	{"responses with details", RESP,
	    "{\"input_tokens\":1200,\"input_tokens_details\":{\"cached_tokens\":1024},"
	    "\"output_tokens\":300,\"output_tokens_details\":{\"reasoning_tokens\":256},"
	    "\"total_tokens\":1500}", VG_OK, 1200, 1024, 300, 256, 1500},
	{"responses names are not chat names", RESP,
	    "{\"prompt_tokens\":7,\"completion_tokens\":3}", VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"chat names are not responses names", CHAT,
	    "{\"input_tokens\":7,\"output_tokens\":3}", VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"cached above input is cut to input", CHAT,
	    "{\"prompt_tokens\":10,\"completion_tokens\":5,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":99}}", VG_OK, 10, 10, 5, 0, 15},
	{"reasoning above output is cut to output", RESP,
	    "{\"input_tokens\":10,\"output_tokens\":5,"
	    "\"output_tokens_details\":{\"reasoning_tokens\":6}}", VG_OK, 10, 0, 5, 5, 15},
	{"bad detail counts as zero", CHAT,
	    "{\"prompt_tokens\":10,\"completion_tokens\":5,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":\"9\"},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":-1}}", VG_OK, 10, 0, 5, 0, 15},
	{"negative count", CHAT, "{\"prompt_tokens\":-1,\"completion_tokens\":5}",
	    VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"fractional count", RESP, "{\"input_tokens\":1.5,\"output_tokens\":5}",
	    VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"string count", RESP, "{\"input_tokens\":\"1\",\"output_tokens\":5}",
	    VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"huge count", RESP, "{\"input_tokens\":1000000000001,\"output_tokens\":5}",
	    VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"missing output", CHAT, "{\"prompt_tokens\":1}", VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"not an object", CHAT, "[1,2]", VG_ERR_INVALID, 0, 0, 0, 0, 0},
	{"zero usage is usage", RESP, "{\"input_tokens\":0,\"output_tokens\":0}",
	    VG_OK, 0, 0, 0, 0, 0},
};

static void
test_usage_objects(void)
{
	size_t i;

	for (i = 0; i < sizeof usage_cases / sizeof usage_cases[0]; i++) {
		json_t *j = json_loads(usage_cases[i].json, 0, NULL);
		struct vg_llm_usage u;

		VT_EQ_INT(vg_llm_usage_from_json(usage_cases[i].api, j, &u), usage_cases[i].err,
		    usage_cases[i].name);
		VT_OK(u.input_tokens == usage_cases[i].in && u.cached_input_tokens == usage_cases[i].cached &&
		    u.output_tokens == usage_cases[i].out && u.reasoning_tokens == usage_cases[i].reasoning,
		    usage_cases[i].name);
		VT_EQ_INT(vg_llm_usage_total(&u), usage_cases[i].total, usage_cases[i].name);
		json_decref(j);
	}
}

static const struct {
	const char *name;
	enum vg_llm_api api;
	const char *body;
	enum vg_err err;
	int have_usage, terminal;
	const char *status, *id, *model;
	int64_t in, cached, out, reasoning;
} body_cases[] = {
	{"chat answer", CHAT,
	    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m-1\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
	    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
	    "\"total_tokens\":11,\"prompt_tokens_details\":{\"cached_tokens\":4},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}",
	    VG_OK, 1, 1, "completed", "chatcmpl-1", "m-1", 9, 4, 2, 1},
	{"chat answer without usage", CHAT,
	    "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[]}",
	    VG_OK, 0, 1, "completed", "chatcmpl-2", "m", 0, 0, 0, 0},
	{"chat error", CHAT,
	    "{\"error\":{\"message\":\"Rate limit\",\"type\":\"requests\",\"param\":null,"
	    "\"code\":\"rate_limit_exceeded\"}}",
	    VG_OK, 0, 0, "error", "", "", 0, 0, 0, 0},
	{"responses completed", RESP,
	    "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"m-2\","
	    "\"error\":null,\"output\":[],\"usage\":{\"input_tokens\":20,"
	    "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":15,"
	    "\"output_tokens_details\":{\"reasoning_tokens\":3},\"total_tokens\":35}}",
	    VG_OK, 1, 1, "completed", "resp_1", "m-2", 20, 0, 15, 3},
	{"responses incomplete", RESP,
	    "{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"incomplete\",\"model\":\"m\","
	    "\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
	    "\"usage\":{\"input_tokens\":5,\"output_tokens\":16}}",
	    VG_OK, 1, 1, "incomplete", "resp_2", "m", 5, 0, 16, 0},
	{"responses failed with an error member", RESP,
	    "{\"id\":\"resp_3\",\"object\":\"response\",\"status\":\"failed\",\"model\":\"m\","
	    "\"error\":{\"code\":\"server_error\",\"message\":\"x\"},"
	    "\"usage\":{\"input_tokens\":5,\"output_tokens\":0}}",
	    VG_OK, 1, 1, "failed", "resp_3", "m", 5, 0, 0, 0},
	{"responses error envelope", RESP,
	    "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":\"model\","
	    "\"code\":null}}", VG_OK, 0, 0, "error", "", "", 0, 0, 0, 0},
	{"not JSON", RESP, "{\"id\":", VG_ERR_INVALID_JSON, 0, 0, "", "", "", 0, 0, 0, 0},
	{"not an object", CHAT, "[]", VG_ERR_INVALID_JSON, 0, 0, "", "", "", 0, 0, 0, 0},
};

static void
test_bodies(void)
{
	size_t i;

	for (i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
		struct vg_llm_outcome o;
		const char *b = body_cases[i].body;

		VT_EQ_INT(vg_llm_outcome_from_body(body_cases[i].api, b, strlen(b), &o),
		    body_cases[i].err, body_cases[i].name);
		VT_EQ_INT(o.have_usage, body_cases[i].have_usage, body_cases[i].name);
		VT_EQ_INT(o.terminal, body_cases[i].terminal, body_cases[i].name);
		VT_EQ_STR(o.status, body_cases[i].status, body_cases[i].name);
		VT_EQ_STR(o.response_id, body_cases[i].id, body_cases[i].name);
		VT_EQ_STR(o.model, body_cases[i].model, body_cases[i].name);
		VT_OK(o.usage.input_tokens == body_cases[i].in &&
		    o.usage.cached_input_tokens == body_cases[i].cached &&
		    o.usage.output_tokens == body_cases[i].out &&
		    o.usage.reasoning_tokens == body_cases[i].reasoning, body_cases[i].name);
	}
}

/* Whole streams, as the provider writes them, through the SSE parser. */
static const struct {
	const char *name;
	enum vg_llm_api api;
	const char *stream;
	int have_usage, terminal;
	const char *status, *id;
	int64_t in, cached, out, reasoning;
	const char *usage_only;   /* per dispatched event: 'u' usage-only chunk, '.' other */
} stream_cases[] = {
	{"chat with include_usage", CHAT,
	    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	    "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	    "\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
	    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	    "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the \\\"usage\\\" is\"},"
	    "\"finish_reason\":null}],\"usage\": null}\n\n"
	    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	    "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
	    "\"usage\":null}\n\n"
	    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	    "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":12,"
	    "\"total_tokens\":42,\"prompt_tokens_details\":{\"cached_tokens\":10},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":5}}}\n\n"
	    "data: [DONE]\n\n",
	    1, 1, "completed", "chatcmpl-9", 30, 10, 12, 5, "...u."},
	{"chat without usage", CHAT,
	    "data: {\"id\":\"chatcmpl-8\",\"object\":\"chat.completion.chunk\",\"model\":\"m\","
	    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n"
	    "data: [DONE]\n\n",
	    0, 1, "completed", "chatcmpl-8", 0, 0, 0, 0, ".."},
	{"chat cut before the end", CHAT,
	    "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"model\":\"m\","
	    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}],"
	    "\"usage\":null}\n\n",
	    0, 0, "", "chatcmpl-7", 0, 0, 0, 0, "."},
	{"chat usage on a content chunk", CHAT,
	    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},"
	    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
	    "data: [DONE]\n\n",
	    1, 1, "completed", "c", 3, 0, 1, 0, ".."},
	{"chat error in the stream", CHAT,
	    "data: {\"id\":\"c\",\"choices\":[]}\n\n"
	    "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"
	    "data: [DONE]\n\n",
	    0, 1, "error", "c", 0, 0, 0, 0, "..."},
	{"responses completed", RESP,
	    "event: response.created\n"
	    "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_7\","
	    "\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"m\",\"usage\":null}}\n\n"
	    "event: response.output_text.delta\n"
	    "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\","
	    "\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
	    "event: response.completed\n"
	    "data: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_7\","
	    "\"object\":\"response\",\"status\":\"completed\",\"model\":\"m\",\"usage\":{"
	    "\"input_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":20},\"output_tokens\":8,"
	    "\"output_tokens_details\":{\"reasoning_tokens\":4},\"total_tokens\":58}}}\n\n",
	    1, 1, "completed", "resp_7", 50, 20, 8, 4, "..."},
	{"responses incomplete", RESP,
	    "event: response.incomplete\n"
	    "data: {\"type\":\"response.incomplete\",\"sequence_number\":5,\"response\":{\"id\":\"resp_6\","
	    "\"status\":\"incomplete\",\"usage\":{\"input_tokens\":5,\"output_tokens\":16}}}\n\n",
	    1, 1, "incomplete", "resp_6", 5, 0, 16, 0, "."},
	{"responses failed without usage", RESP,
	    "event: response.failed\n"
	    "data: {\"type\":\"response.failed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_5\","
	    "\"status\":\"failed\",\"error\":{\"code\":\"server_error\"},\"usage\":null}}\n\n",
	    0, 1, "failed", "resp_5", 0, 0, 0, 0, "."},
	{"responses failed with usage", RESP,
	    "event: response.failed\n"
	    "data: {\"type\":\"response.failed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_4\","
	    "\"status\":\"failed\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
	    1, 1, "failed", "resp_4", 9, 0, 1, 0, "."},
	{"responses cut before the terminal event", RESP,
	    "event: response.created\n"
	    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_3\",\"usage\":null}}\n\n"
	    "event: response.output_text.delta\n"
	    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\n",
	    0, 0, "", "resp_3", 0, 0, 0, 0, ".."},
	{"responses without event lines", RESP,
	    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_2\","
	    "\"usage\":{\"input_tokens\":2,\"output_tokens\":3}}}\n\n",
	    1, 1, "completed", "resp_2", 2, 0, 3, 0, "."},
	{"responses error event", RESP,
	    "event: error\n"
	    "data: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"x\",\"sequence_number\":1}\n\n",
	    0, 0, "error", "", 0, 0, 0, 0, "."},
	{"responses delta that looks terminal is not", RESP,
	    "event: response.output_text.delta\n"
	    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"{\\\"type\\\":"
	    "\\\"response.completed\\\"}\"}\n\n",
	    0, 0, "", "", 0, 0, 0, 0, "."},
};

struct stream_state {
	enum vg_llm_api api;
	struct vg_llm_outcome o;
	char marks[32];
	size_t n;
};

static enum vg_err
on_block(const struct vg_sse_event *ev, void *arg)
{
	struct stream_state *s = arg;
	bool usage_only = false;

	if (!ev->dispatch)
		return VG_OK;
	vg_llm_outcome_event(&s->o, s->api, ev->type, ev->data, ev->data_len, &usage_only);
	if (s->n + 1 < sizeof s->marks)
		s->marks[s->n++] = usage_only ? 'u' : '.';
	return VG_OK;
}

static void
test_streams(void)
{
	size_t i;

	for (i = 0; i < sizeof stream_cases / sizeof stream_cases[0]; i++) {
		struct stream_state s;
		struct vg_sse *p = NULL;
		const char *name = stream_cases[i].name;

		memset(&s, 0, sizeof s);
		s.api = stream_cases[i].api;
		vg_llm_outcome_init(&s.o);
		vg_sse_new(0, on_block, &s, &p);
		VT_EQ_INT(vg_sse_feed(p, stream_cases[i].stream, strlen(stream_cases[i].stream)), VG_OK,
		    name);
		VT_EQ_INT(s.o.have_usage, stream_cases[i].have_usage, name);
		VT_EQ_INT(s.o.terminal, stream_cases[i].terminal, name);
		VT_EQ_STR(s.o.status, stream_cases[i].status, name);
		VT_EQ_STR(s.o.response_id, stream_cases[i].id, name);
		VT_EQ_STR(s.marks, stream_cases[i].usage_only, name);
		VT_OK(s.o.usage.input_tokens == stream_cases[i].in &&
		    s.o.usage.cached_input_tokens == stream_cases[i].cached &&
		    s.o.usage.output_tokens == stream_cases[i].out &&
		    s.o.usage.reasoning_tokens == stream_cases[i].reasoning, name);
		vg_sse_free(p);
	}
}

int
main(void)
{
	test_usage_objects();
	test_bodies();
	test_streams();
	return vt_done();
}
