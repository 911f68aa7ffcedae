-- 008_llm_hot_path.sql - lighter rows on the LLM proxy's path.  Every
-- model call reserves (one UPDATE of its scan's scan_llm_budget row and
-- one INSERT into llm_usage) and settles (one UPDATE of each).  Postgres
-- builds each CHECK constraint afresh for every statement that writes its
-- table, and an UPDATE that must add index entries costs far more than
-- one that stays on its page; at hundreds of calls per second these were
-- most of the database's work per call.
--
-- * The CHECKs say what they said before, each table's in one expression
--   (a CHECK fails when its expression is false, so the AND of the old
--   ones fails exactly when one of them did).
-- * llm_usage_created_idx and llm_usage_reserved_idx go: nothing reads
--   llm_usage by time alone or looks for reservations across scans
--   (reads go by id, or by scan through llm_usage_scan_idx; user_idx
--   serves the users foreign key).  With them gone the settlement changes
--   no indexed column, so its UPDATE can stay on the row's page.
-- * Both tables leave room on each page for that (fillfactor).

ALTER TABLE scan_llm_budget
	DROP CONSTRAINT scan_llm_budget_requests_check,
	DROP CONSTRAINT scan_llm_budget_reserved_tokens_check,
	DROP CONSTRAINT scan_llm_budget_reserved_microusd_check,
	DROP CONSTRAINT scan_llm_budget_input_tokens_check,
	DROP CONSTRAINT scan_llm_budget_cached_input_tokens_check,
	DROP CONSTRAINT scan_llm_budget_output_tokens_check,
	DROP CONSTRAINT scan_llm_budget_reasoning_tokens_check,
	DROP CONSTRAINT scan_llm_budget_cost_microusd_check,
	ADD CONSTRAINT scan_llm_budget_counts_check CHECK (LEAST(requests, reserved_tokens,
		reserved_microusd, input_tokens, cached_input_tokens, output_tokens,
		reasoning_tokens, cost_microusd) >= 0);
ALTER TABLE scan_llm_budget SET (fillfactor = 70);

ALTER TABLE llm_usage
	DROP CONSTRAINT llm_usage_provider_check,
	DROP CONSTRAINT llm_usage_model_check,
	DROP CONSTRAINT llm_usage_endpoint_check,
	DROP CONSTRAINT llm_usage_status_check,
	DROP CONSTRAINT llm_usage_reserved_tokens_check,
	DROP CONSTRAINT llm_usage_input_tokens_check,
	DROP CONSTRAINT llm_usage_cached_input_tokens_check,
	DROP CONSTRAINT llm_usage_output_tokens_check,
	DROP CONSTRAINT llm_usage_reasoning_tokens_check,
	DROP CONSTRAINT llm_usage_reserved_microusd_check,
	DROP CONSTRAINT llm_usage_cost_microusd_check,
	DROP CONSTRAINT llm_usage_request_id_check,
	DROP CONSTRAINT llm_usage_latency_ms_check,
	DROP CONSTRAINT llm_usage_http_status_check,
	DROP CONSTRAINT llm_usage_upstream_request_id_check,
	DROP CONSTRAINT llm_usage_check,
	ADD CONSTRAINT llm_usage_row_check CHECK (
		LEAST(reserved_tokens, input_tokens, cached_input_tokens, output_tokens,
			reasoning_tokens, reserved_microusd, cost_microusd, latency_ms) >= 0
		AND length(provider) BETWEEN 1 AND 64
		AND length(model) BETWEEN 1 AND 256
		AND endpoint IN ('responses', 'chat_completions')
		AND status IN ('reserved', 'settled', 'failed')
		AND length(request_id) <= 128
		AND http_status BETWEEN 0 AND 999
		AND length(upstream_request_id) <= 256
		AND (status = 'reserved') = (settled_at IS NULL));
ALTER TABLE llm_usage SET (fillfactor = 70);

DROP INDEX llm_usage_created_idx;
DROP INDEX llm_usage_reserved_idx;
