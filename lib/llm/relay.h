/*
 * relay.h - the provider's answer on its way to the client: written on at
 * once, watched for usage on the way.
 *
 * Feed it what vg_llm_forward's on_body receives.  A streamed answer goes
 * through the SSE parser and vg_llm_outcome_event; a whole body is copied
 * (up to max_body bytes) and read at the end with
 * vg_llm_outcome_from_body.  Either way the bytes are written to the
 * client unchanged and without waiting, with one exception: when the
 * proxy turned on stream_options.include_usage for a Chat client that had
 * not asked for it, drop_usage_chunk removes that extra chunk again.  In
 * that mode each event is written when its blank line arrives (a client
 * acts on whole events only), and the rest of a stream cut mid-event is
 * written by vg_llm_relay_finish.
 *
 * Watching never stops the relay: an event larger than the parser's bound
 * or a body over max_body only means the outcome has no usage, and the
 * caller charges the reservation.  Use a relay for a 2xx answer whose
 * Content-Type is text/event-stream (stream) or JSON (not); an error
 * answer is relayed as a body.
 */
#ifndef VG_LLM_RELAY_H
#define VG_LLM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include "core/err.h"
#include "llm/usage.h"

/* Write n bytes to the client; a non-OK return stops the relay. */
typedef enum vg_err (*vg_llm_write_fn)(void *arg, const char *data, size_t n);

struct vg_llm_relay;

enum vg_err vg_llm_relay_new(enum vg_llm_api api, bool stream, bool drop_usage_chunk,
    size_t max_body, vg_llm_write_fn write, void *arg, struct vg_llm_relay **out);
void vg_llm_relay_free(struct vg_llm_relay *r);
/* The next bytes of the answer. */
enum vg_err vg_llm_relay_feed(struct vg_llm_relay *r, const char *data, size_t n);
/* The answer ended: write what is held back, read a whole body. */
enum vg_err vg_llm_relay_finish(struct vg_llm_relay *r);
/* What the answer said so far (usage, terminal, status, ids). */
const struct vg_llm_outcome *vg_llm_relay_outcome(const struct vg_llm_relay *r);

#endif
