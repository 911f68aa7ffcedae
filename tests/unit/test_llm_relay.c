/*
 * test_llm_relay.c - lib/llm/relay: what reaches the client is the
 * provider's answer byte for byte (less the usage chunk the client did
 * not ask for), at every split of the input, and the usage is read on the
 * way; a stream cut mid-event or with an oversized event still reaches
 * the client whole.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "llm/relay.h"
#include "vt.h"

#define CHUNK(content) "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\"," \
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" content "\"},\"finish_reason\":null}]," \
    "\"usage\":null}\n\n"
#define USAGE_CHUNK "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\"," \
    "\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2," \
    "\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n"
#define DONE "data: [DONE]\n\n"

static const char chat_stream[] = ": keep-alive\n\n" CHUNK("Hel") CHUNK("lo") USAGE_CHUNK DONE;
static const char chat_without_usage[] = ": keep-alive\n\n" CHUNK("Hel") CHUNK("lo") DONE;

struct sink {
	struct vg_buf out;
	int fail_after;   /* fail the write after this many calls (0: never) */
	int writes;
};

static enum vg_err
to_sink(void *arg, const char *data, size_t n)
{
	struct sink *s = arg;

	if (s->fail_after && ++s->writes >= s->fail_after)
		return VG_ERR_IO;
	return vg_buf_append(&s->out, data, n);
}

/* Relay input cut at `cut` (0: whole; SIZE_MAX: byte by byte). */
static int
relay(enum vg_llm_api api, bool stream, bool drop, size_t max_body, const char *in, size_t len,
    size_t cut, struct sink *s, struct vg_llm_outcome *o)
{
	struct vg_llm_relay *r = NULL;
	size_t i;
	int ok = 1;

	memset(s, 0, sizeof *s);
	vg_buf_init(&s->out, (size_t)64 << 20);
	if (vg_llm_relay_new(api, stream, drop, max_body, to_sink, s, &r) != VG_OK)
		return 0;
	if (cut == (size_t)-1) {
		for (i = 0; i < len; i++)
			ok &= vg_llm_relay_feed(r, in + i, 1) == VG_OK;
	} else if (cut && cut < len) {
		ok &= vg_llm_relay_feed(r, in, cut) == VG_OK;
		ok &= vg_llm_relay_feed(r, in + cut, len - cut) == VG_OK;
	} else {
		ok &= vg_llm_relay_feed(r, in, len) == VG_OK;
	}
	ok &= vg_llm_relay_finish(r) == VG_OK;
	*o = *vg_llm_relay_outcome(r);
	vg_llm_relay_free(r);
	return ok;
}

static int
same(const struct vg_buf *b, const char *want, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->data, want, len) == 0);
}

static void
test_chat_streams(void)
{
	size_t len = sizeof chat_stream - 1, cut;
	int all_pass = 1, all_drop = 1;
	struct vg_llm_outcome o;
	struct sink s;

	for (cut = 0; cut <= len; cut++) {
		relay(VG_LLM_API_CHAT, true, false, 0, chat_stream, len, cut, &s, &o);
		all_pass &= same(&s.out, chat_stream, len) && o.have_usage && o.terminal &&
		    o.usage.input_tokens == 11 && o.usage.cached_input_tokens == 3;
		vg_buf_free(&s.out);
		relay(VG_LLM_API_CHAT, true, true, 0, chat_stream, len, cut, &s, &o);
		all_drop &= same(&s.out, chat_without_usage, sizeof chat_without_usage - 1) &&
		    o.have_usage && o.terminal && o.usage.output_tokens == 2;
		vg_buf_free(&s.out);
	}
	VT_OK(all_pass, "relayed unchanged at every split, usage read");
	VT_OK(all_drop, "the usage chunk removed at every split, usage still read");
	relay(VG_LLM_API_CHAT, true, true, 0, chat_stream, len, (size_t)-1, &s, &o);
	VT_OK(same(&s.out, chat_without_usage, sizeof chat_without_usage - 1), "byte by byte too");
	vg_buf_free(&s.out);

	/* The client asked for usage itself: nothing removed. */
	relay(VG_LLM_API_CHAT, true, false, 0, chat_stream, len, 0, &s, &o);
	VT_OK(same(&s.out, chat_stream, len), "kept when the client asked for it");
	vg_buf_free(&s.out);
	/* Removing applies to Chat only. */
	relay(VG_LLM_API_RESPONSES, true, true, 0, chat_stream, len, 0, &s, &o);
	VT_OK(same(&s.out, chat_stream, len), "Responses streams are never edited");
	vg_buf_free(&s.out);
}

static void
test_cut_and_oversized(void)
{
	static const char cut_stream[] = CHUNK("a") "data: {\"id\":\"c1\",\"choi";
	struct vg_llm_outcome o;
	struct sink s;
	size_t big = (size_t)9 << 20, i;
	char *huge = malloc(big + 64);
	struct vg_llm_relay *r = NULL;
	int ok = 1;

	relay(VG_LLM_API_CHAT, true, true, 0, cut_stream, sizeof cut_stream - 1, 10, &s, &o);
	VT_OK(same(&s.out, cut_stream, sizeof cut_stream - 1), "a cut stream reaches the client whole");
	VT_OK(!o.terminal && !o.have_usage, "not terminal, no usage");
	vg_buf_free(&s.out);

	/* One event larger than the parser's bound, in 64 KiB pieces. */
	memcpy(huge, "data: ", 6);
	memset(huge + 6, 'x', big);
	memcpy(huge + 6 + big, "\n\n" DONE, 2 + sizeof DONE - 1);
	memset(&s, 0, sizeof s);
	vg_buf_init(&s.out, (size_t)64 << 20);
	vg_llm_relay_new(VG_LLM_API_CHAT, true, true, 0, to_sink, &s, &r);
	for (i = 0; i < big + 8 + sizeof DONE - 1; i += 65536) {
		size_t n = big + 8 + sizeof DONE - 1 - i < 65536 ? big + 8 + sizeof DONE - 1 - i : 65536;

		ok &= vg_llm_relay_feed(r, huge + i, n) == VG_OK;
	}
	ok &= vg_llm_relay_finish(r) == VG_OK;
	VT_OK(ok, "an oversized event does not stop the relay");
	VT_OK(same(&s.out, huge, big + 8 + sizeof DONE - 1), "it reaches the client whole");
	VT_OK(!vg_llm_relay_outcome(r)->have_usage, "unwatched: no usage (the reservation is charged)");
	vg_llm_relay_free(r);
	vg_buf_free(&s.out);
	free(huge);
}

static void
test_bodies(void)
{
	static const char body[] = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\","
	    "\"model\":\"m\",\"usage\":{\"input_tokens\":20,\"output_tokens\":15}}";
	struct vg_llm_outcome o;
	struct sink s;

	relay(VG_LLM_API_RESPONSES, false, false, 1 << 20, body, sizeof body - 1, 30, &s, &o);
	VT_OK(same(&s.out, body, sizeof body - 1), "a body relayed unchanged");
	VT_OK(o.have_usage && o.usage.input_tokens == 20 && o.terminal, "its usage read at the end");
	vg_buf_free(&s.out);
	relay(VG_LLM_API_RESPONSES, false, false, 16, body, sizeof body - 1, 0, &s, &o);
	VT_OK(same(&s.out, body, sizeof body - 1), "a body over the copy's bound still relayed");
	VT_OK(!o.have_usage, "but not read");
	vg_buf_free(&s.out);
}

static void
test_write_errors(void)
{
	struct vg_llm_relay *r = NULL;
	struct sink s;

	memset(&s, 0, sizeof s);
	vg_buf_init(&s.out, 1 << 20);
	s.fail_after = 2;
	vg_llm_relay_new(VG_LLM_API_CHAT, true, true, 0, to_sink, &s, &r);
	VT_EQ_INT(vg_llm_relay_feed(r, chat_stream, 40), VG_OK, "dropping: a first piece written");
	VT_EQ_INT(vg_llm_relay_feed(r, chat_stream + 40, sizeof chat_stream - 41), VG_ERR_IO,
	    "a failed write stops the relay");
	VT_EQ_INT(vg_llm_relay_feed(r, DONE, sizeof DONE - 1), VG_ERR_IO, "and it stays stopped");
	vg_llm_relay_free(r);
	vg_buf_free(&s.out);

	memset(&s, 0, sizeof s);
	vg_buf_init(&s.out, 1 << 20);
	s.fail_after = 1;
	vg_llm_relay_new(VG_LLM_API_CHAT, true, false, 0, to_sink, &s, &r);
	VT_EQ_INT(vg_llm_relay_feed(r, chat_stream, 10), VG_ERR_IO, "passing through: a failed write stops");
	s.fail_after = 0;
	VT_EQ_INT(vg_llm_relay_feed(r, chat_stream + 10, 10), VG_ERR_IO, "nothing written after it");
	VT_EQ_INT(s.out.len, 0, "nothing reached the client");
	vg_llm_relay_free(r);
	vg_buf_free(&s.out);
	VT_EQ_INT(vg_llm_relay_new(VG_LLM_API_CHAT, true, true, 0, NULL, NULL, &r), VG_ERR_INVALID,
	    "a writer is required");
}

/* What arrives in one read leaves in one write (one flush to the client),
 * less the usage chunk, whether the relay removes a chunk or not. */
static void
test_one_write_per_read(void)
{
	static const char tail[] = CHUNK("!") DONE;
	struct vg_llm_relay *r = NULL;
	struct sink s;
	int drop;

	for (drop = 0; drop <= 1; drop++) {
		memset(&s, 0, sizeof s);
		vg_buf_init(&s.out, 1 << 20);
		vg_llm_relay_new(VG_LLM_API_CHAT, true, drop, 0, to_sink, &s, &r);
		/* counted, never failed */
		s.fail_after = 1000;
		VT_EQ_INT(vg_llm_relay_feed(r, chat_stream, sizeof chat_stream - 1), VG_OK,
		    "five blocks in one read");
		VT_EQ_INT(s.writes, 1, drop ? "dropping: one write for the read's blocks"
		    : "passing through: one write for the read");
		VT_EQ_INT(vg_llm_relay_feed(r, tail, 10), VG_OK, "a block's first bytes");
		VT_EQ_INT(s.writes, drop ? 1 : 2, drop ? "dropping: an unfinished block waits"
		    : "passing through: written at once");
		VT_EQ_INT(vg_llm_relay_feed(r, tail + 10, sizeof tail - 11), VG_OK, "the rest");
		VT_EQ_INT(vg_llm_relay_finish(r), VG_OK, "finished");
		VT_EQ_INT(s.writes, drop ? 2 : 3, "one more write for the rest");
		VT_EQ_INT(s.out.len, (drop ? sizeof chat_without_usage : sizeof chat_stream) - 1
		    + sizeof tail - 1, drop ? "every byte but the usage chunk" : "every byte");
		vg_llm_relay_free(r);
		vg_buf_free(&s.out);
	}
}

int
main(void)
{
	test_chat_streams();
	test_cut_and_oversized();
	test_bodies();
	test_write_errors();
	test_one_write_per_read();
	return vt_done();
}
