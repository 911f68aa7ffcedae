/*
 * settings_table.h - every VEGA_* setting, one line each.
 *
 * VG_SETTING(ID, NAME, TYPE, DEFAULT, MIN, MAX, CHOICES, SECRET, HELP)
 *   TYPE     STRING, INT, BOOL or ENUM
 *   MIN/MAX  inclusive range for INT
 *   CHOICES  "a|b|c" for ENUM, NULL otherwise
 *   SECRET   1 when `vega-maintenance config` must redact the value
 *
 * Included by settings.h (the enum of ids) and settings.c (the table), so
 * the two can never disagree.  The README's configuration table is produced
 * from this list by `vega-maintenance config --markdown`; a test fails when
 * the README and this list differ.
 */
VG_SETTING(DATA_DIR, "VEGA_DATA_DIR", STRING, "./data", 0, 0, NULL, 0,
    "Directory for local state: JSON store, local blobs, temporary files")
VG_SETTING(PERSISTENCE_BACKEND, "VEGA_PERSISTENCE_BACKEND", ENUM, "json", 0, 0, "json|postgres", 0,
    "Where metadata lives: JSON files under VEGA_DATA_DIR, or Postgres")
VG_SETTING(DATABASE_URL, "VEGA_DATABASE_URL", STRING, "", 0, 0, NULL, 1,
    "libpq connection string or URI; required with the postgres backend")
VG_SETTING(DB_CONNECT_TIMEOUT_SECONDS, "VEGA_DB_CONNECT_TIMEOUT_SECONDS", INT, "5", 1, 300, NULL, 0,
    "Seconds to wait for a Postgres connection before answering 503")
VG_SETTING(MIGRATIONS_DIR, "VEGA_MIGRATIONS_DIR", STRING, "", 0, 0, NULL, 0,
    "Directory holding the NNN_name.sql migrations (empty: the sql/ directory installed with Vega)")
VG_SETTING(FILE_STORAGE_BACKEND, "VEGA_FILE_STORAGE_BACKEND", ENUM, "local", 0, 0, "local|s3", 0,
    "Where snapshots and artifacts live: directories under VEGA_DATA_DIR, or S3")
VG_SETTING(S3_SOURCE_BUCKET, "VEGA_S3_SOURCE_BUCKET", STRING, "", 0, 0, NULL, 0,
    "S3 bucket for source snapshots (s3 storage)")
VG_SETTING(S3_ARTIFACTS_BUCKET, "VEGA_S3_ARTIFACTS_BUCKET", STRING, "", 0, 0, NULL, 0,
    "S3 bucket for scan artifacts (s3 storage)")
VG_SETTING(SCAN_EXECUTION_MODE, "VEGA_SCAN_EXECUTION_MODE", ENUM, "thread", 0, 0, "thread|external|sqs", 0,
    "How a new scan is dispatched: runner started by the API host, left for a worker, or queued on SQS")
VG_SETTING(SCAN_QUEUE_URL, "VEGA_SCAN_QUEUE_URL", STRING, "", 0, 0, NULL, 0,
    "SQS queue URL (sqs dispatch)")
VG_SETTING(SCAN_WORKER_EXECUTION_MODE, "VEGA_SCAN_WORKER_EXECUTION_MODE", ENUM, "local", 0, 0, "local|ecs", 0,
    "How a worker runs a claimed scan: a local child process, or an ECS task")
VG_SETTING(AUTH_PROVIDER, "VEGA_AUTH_PROVIDER", ENUM, "custom", 0, 0, "custom|cognito", 0,
    "Who issues user tokens: built-in accounts, or a Cognito user pool")
VG_SETTING(AUTH_SECRET, "VEGA_AUTH_SECRET", STRING, "", 0, 0, NULL, 1,
    "HS256 key for access tokens of the custom provider: at least 32 bytes, required with it (the programs refuse to start without)")
VG_SETTING(ACCESS_TOKEN_TTL_SECONDS, "VEGA_ACCESS_TOKEN_TTL_SECONDS", INT, "900", 60, 86400, NULL, 0,
    "Lifetime of an access token")
VG_SETTING(PASSWORD_SCRYPT_LOG_N, "VEGA_PASSWORD_SCRYPT_LOG_N", INT, "17", 10, 20, NULL, 0,
    "scrypt work factor for new password hashes, as log2 N (17 is OWASP's; lower only for tests)")
VG_SETTING(REFRESH_TOKEN_TTL_SECONDS, "VEGA_REFRESH_TOKEN_TTL_SECONDS", INT, "1209600", 1, 31536000, NULL, 0,
    "Lifetime of a refresh token; each refresh hands out a new one with a fresh lifetime")
VG_SETTING(REFRESH_FAMILY_TTL_SECONDS, "VEGA_REFRESH_FAMILY_TTL_SECONDS", INT, "7776000", 1, 315360000, NULL, 0,
    "Longest a login may be kept alive by refreshing; then the user logs in again")
VG_SETTING(LOGIN_MAX_FAILURES, "VEGA_LOGIN_MAX_FAILURES", INT, "5", 1, 1000000, NULL, 0,
    "Failed logins for one e-mail address within VEGA_LOGIN_THROTTLE_SECONDS before further attempts answer 429")
VG_SETTING(LOGIN_MAX_FAILURES_PER_ADDRESS, "VEGA_LOGIN_MAX_FAILURES_PER_ADDRESS", INT, "50", 1, 1000000, NULL, 0,
    "Failed logins from one client address within VEGA_LOGIN_THROTTLE_SECONDS before further attempts answer 429")
VG_SETTING(LOGIN_THROTTLE_SECONDS, "VEGA_LOGIN_THROTTLE_SECONDS", INT, "900", 1, 86400, NULL, 0,
    "Window in which failed logins are counted, and how long a throttled account or address waits")
VG_SETTING(JWT_LEEWAY_SECONDS, "VEGA_JWT_LEEWAY_SECONDS", INT, "30", 0, 300, NULL, 0,
    "Clock skew tolerated when checking exp, nbf and iat of access tokens")
VG_SETTING(COGNITO_REGION, "VEGA_COGNITO_REGION", STRING, "", 0, 0, NULL, 0,
    "AWS region of the Cognito user pool (cognito provider)")
VG_SETTING(COGNITO_USER_POOL_ID, "VEGA_COGNITO_USER_POOL_ID", STRING, "", 0, 0, NULL, 0,
    "Id of the Cognito user pool whose access tokens are accepted (cognito provider)")
VG_SETTING(COGNITO_APP_CLIENT_ID, "VEGA_COGNITO_APP_CLIENT_ID", STRING, "", 0, 0, NULL, 0,
    "App client id that access tokens must carry, and that login and refresh use (cognito provider)")
VG_SETTING(COGNITO_APP_CLIENT_SECRET, "VEGA_COGNITO_APP_CLIENT_SECRET", STRING, "", 0, 0, NULL, 1,
    "Secret of the app client, when it has one: login and refresh then send SECRET_HASH")
VG_SETTING(COGNITO_ENDPOINT, "VEGA_COGNITO_ENDPOINT", STRING, "", 0, 0, NULL, 0,
    "Base URL of the Cognito service (empty: https://cognito-idp.<region>.amazonaws.com); the issuer is <endpoint>/<pool id>")
VG_SETTING(COGNITO_JWKS_TTL_SECONDS, "VEGA_COGNITO_JWKS_TTL_SECONDS", INT, "3600", 1, 604800, NULL, 0,
    "How long the user pool's signing keys are cached before they are fetched again")
VG_SETTING(COGNITO_JWKS_REFETCH_SECONDS, "VEGA_COGNITO_JWKS_REFETCH_SECONDS", INT, "60", 1, 86400, NULL, 0,
    "Least time between two fetches of the signing keys caused by a token with an unknown key id")
VG_SETTING(COGNITO_TIMEOUT_SECONDS, "VEGA_COGNITO_TIMEOUT_SECONDS", INT, "5", 1, 120, NULL, 0,
    "Seconds to wait for Cognito (keys, InitiateAuth) before answering 503")
VG_SETTING(LOG_LEVEL, "VEGA_LOG_LEVEL", ENUM, "info", 0, 0, "debug|info|warn|error", 0,
    "Least severe log level written to stderr")
VG_SETTING(MAX_JSON_BODY_BYTES, "VEGA_MAX_JSON_BODY_BYTES", INT, "1048576", 1024, 67108864, NULL, 0,
    "Largest JSON request body accepted (413 above)")
VG_SETTING(MAX_SOURCE_BYTES, "VEGA_MAX_SOURCE_BYTES", INT, "2147483648", 1024, INT64_MAX, NULL, 0,
    "Largest source archive accepted, compressed (413 above)")
VG_SETTING(MAX_ARCHIVE_ENTRIES, "VEGA_MAX_ARCHIVE_ENTRIES", INT, "50000", 1, 10000000, NULL, 0,
    "Most entries one archive may hold")
VG_SETTING(MAX_ARCHIVE_FILE_BYTES, "VEGA_MAX_ARCHIVE_FILE_BYTES", INT, "104857600", 1, INT64_MAX, NULL, 0,
    "Largest single file in an archive, uncompressed")
VG_SETTING(MAX_ARCHIVE_UNCOMPRESSED_BYTES, "VEGA_MAX_ARCHIVE_UNCOMPRESSED_BYTES", INT, "5368709120", 1, INT64_MAX, NULL, 0,
    "Most bytes one archive may expand to")
VG_SETTING(MAX_ACTIVE_SCANS_PER_USER, "VEGA_MAX_ACTIVE_SCANS_PER_USER", INT, "4", 0, 100000, NULL, 0,
    "Scans one user may have queued, claimed or running at once (0 = unlimited)")
VG_SETTING(SCAN_RUNNING_STALE_SECONDS, "VEGA_SCAN_RUNNING_STALE_SECONDS", INT, "21600", 60, 604800, NULL, 0,
    "A running scan older than this with no live runner is failed as stale")
VG_SETTING(SCAN_HEARTBEAT_STALE_SECONDS, "VEGA_SCAN_HEARTBEAT_STALE_SECONDS", INT, "300", 5, 86400, NULL, 0,
    "A running scan whose heartbeat is older than this with no live runner is failed as stale")
VG_SETTING(SCAN_MAX_ATTEMPTS, "VEGA_SCAN_MAX_ATTEMPTS", INT, "3", 1, 100, NULL, 0,
    "Claims of one scan before it is failed")
VG_SETTING(WORKER_POLL_INTERVAL_SECONDS, "VEGA_WORKER_POLL_INTERVAL_SECONDS", INT, "2", 1, 3600, NULL, 0,
    "Seconds a worker sleeps when it found no work")
VG_SETTING(WORKER_HEARTBEAT_INTERVAL_SECONDS, "VEGA_WORKER_HEARTBEAT_INTERVAL_SECONDS", INT, "15", 1, 3600, NULL, 0,
    "Seconds between a worker's heartbeats")
VG_SETTING(WORKER_HEARTBEAT_TTL_SECONDS, "VEGA_WORKER_HEARTBEAT_TTL_SECONDS", INT, "60", 2, 86400, NULL, 0,
    "A worker whose last heartbeat is older than this is shown as stale")
VG_SETTING(TMP_RETENTION_SECONDS, "VEGA_TMP_RETENTION_SECONDS", INT, "86400", 60, 31536000, NULL, 0,
    "Temporary files under VEGA_DATA_DIR/tmp older than this are removed by cleanup")
VG_SETTING(ARTIFACT_RETENTION_DAYS, "VEGA_ARTIFACT_RETENTION_DAYS", INT, "30", 1, 36500, NULL, 0,
    "Days scan artifacts are kept before cleanup removes them")
VG_SETTING(SCAN_ENGINE, "VEGA_SCAN_ENGINE", ENUM, "auto", 0, 0, "auto|rules", 0,
    "Engine that audits a scan: rules (the offline rules auditor), or auto for the best one configured")
VG_SETTING(RULES_DIR, "VEGA_RULES_DIR", STRING, "", 0, 0, NULL, 0,
    "Directory of the rules auditor's JSON rule files (empty: the rules installed with Vega)")
VG_SETTING(EXTRA_RULES_DIR, "VEGA_EXTRA_RULES_DIR", STRING, "", 0, 0, NULL, 0,
    "Directory of additional JSON rule files; a rule with the id of a built-in one replaces it")
VG_SETTING(ENGINE_MAX_FILE_BYTES, "VEGA_ENGINE_MAX_FILE_BYTES", INT, "1048576", 1024, 1073741824, NULL, 0,
    "Largest file the engine audits; larger files are skipped and named in the scan's plan")
VG_SETTING(ENGINE_MAX_COMPONENT_BYTES, "VEGA_ENGINE_MAX_COMPONENT_BYTES", INT, "8388608", 65536, INT64_MAX, NULL, 0,
    "A component of the scan plan larger than this is split by its subfolders")
VG_SETTING(ENGINE_MAX_FILES, "VEGA_ENGINE_MAX_FILES", INT, "200000", 1, 100000000, NULL, 0,
    "Most files one scan audits; the rest are named as skipped in the plan")
VG_SETTING(MAX_PROJECTS_PER_USER, "VEGA_MAX_PROJECTS_PER_USER", INT, "100", 0, 1000000, NULL, 0,
    "Projects one user may own (0 = unlimited)")
VG_SETTING(MAX_REPOSITORIES_PER_PROJECT, "VEGA_MAX_REPOSITORIES_PER_PROJECT", INT, "200", 0, 1000000, NULL, 0,
    "Repositories one project may hold (0 = unlimited)")
VG_SETTING(MAX_MEMBERS_PER_PROJECT, "VEGA_MAX_MEMBERS_PER_PROJECT", INT, "100", 0, 100000, NULL, 0,
    "Members one project may have, owners included (0 = unlimited)")
VG_SETTING(MAX_SNAPSHOTS_PER_REPOSITORY, "VEGA_MAX_SNAPSHOTS_PER_REPOSITORY", INT, "1000", 0, 1000000, NULL, 0,
    "Snapshots one repository may keep (0 = unlimited)")
VG_SETTING(MAX_THREAT_PROFILES_PER_REPOSITORY, "VEGA_MAX_THREAT_PROFILES_PER_REPOSITORY", INT, "50", 0, 100000, NULL, 0,
    "Threat profiles one repository may have (0 = unlimited)")
VG_SETTING(MAX_FILE_VIEW_BYTES, "VEGA_MAX_FILE_VIEW_BYTES", INT, "1048576", 1, 1073741824, NULL, 0,
    "Largest snapshot file GET /v1/snapshots/{id}/files/{path} serves (413 above)")
VG_SETTING(GIT_TIMEOUT_SECONDS, "VEGA_GIT_TIMEOUT_SECONDS", INT, "300", 1, 86400, NULL, 0,
    "Seconds a git fetch may take before it is killed and the repository marked failed")
VG_SETTING(ALLOW_FILE_GIT_URLS, "VEGA_ALLOW_FILE_GIT_URLS", BOOL, "false", 0, 0, NULL, 0,
    "Accept file:// git URLs (tests only; https:// and ssh:// are always accepted)")
VG_SETTING(GIT_PROGRAM, "VEGA_GIT_PROGRAM", STRING, "git", 0, 0, NULL, 0,
    "The git executable (a name looked up in PATH, or an absolute path)")
VG_SETTING(RUNNER_PROGRAM, "VEGA_RUNNER_PROGRAM", STRING, "", 0, 0, NULL, 0,
    "The vega-runner executable that dispatch starts (empty: the one installed with Vega)")
VG_SETTING(RUNNER_MAX_SECONDS, "VEGA_RUNNER_MAX_SECONDS", INT, "3600", 10, 604800, NULL, 0,
    "Wall-clock limit of one runner; it is killed past this")
VG_SETTING(RUNNER_MEMORY_LIMIT_MB, "VEGA_RUNNER_MEMORY_LIMIT_MB", INT, "4096", 64, 1048576, NULL, 0,
    "Address-space limit of a runner started as a local child, in MiB")
VG_SETTING(RUNNER_HEARTBEAT_SECONDS, "VEGA_RUNNER_HEARTBEAT_SECONDS", INT, "5", 1, 3600, NULL, 0,
    "How often a runner heartbeats its scan and checks for a cancellation")
VG_SETTING(WORKER_RETENTION_DAYS, "VEGA_WORKER_RETENTION_DAYS", INT, "7", 1, 36500, NULL, 0,
    "Stopped or silent worker rows older than this are removed by cleanup")
VG_SETTING(BLOB_GRACE_SECONDS, "VEGA_BLOB_GRACE_SECONDS", INT, "86400", 0, 31536000, NULL, 0,
    "Blobs no row references are removed by cleanup only when older than this")
VG_SETTING(LLM_TOKEN_SIGNING_KEY_FILE, "VEGA_LLM_TOKEN_SIGNING_KEY_FILE", STRING, "", 0, 0, NULL, 0,
    "PEM EC P-256 private key that signs scan tokens (dispatching roles only)")
VG_SETTING(LLM_TOKEN_VERIFY_KEY_FILE, "VEGA_LLM_TOKEN_VERIFY_KEY_FILE", STRING, "", 0, 0, NULL, 0,
    "PEM EC P-256 public key the LLM proxy verifies scan tokens with")
VG_SETTING(LLM_TOKEN_TTL_SECONDS, "VEGA_LLM_TOKEN_TTL_SECONDS", INT, "3600", 60, 604800, NULL, 0,
    "Longest life of a scan token (never past the scan's run limit)")
VG_SETTING(LLM_PROXY_BASE_URL, "VEGA_LLM_PROXY_BASE_URL", STRING, "http://127.0.0.1:8001/v1", 0, 0, NULL, 0,
    "Base URL of the LLM proxy, handed to runners")
VG_SETTING(LLM_PROVIDER_BASE_URL, "VEGA_LLM_PROVIDER_BASE_URL", STRING, "https://api.openai.com/v1", 0, 0, NULL, 0,
    "OpenAI-compatible provider the proxy forwards to")
VG_SETTING(LLM_PROVIDER_API_KEY_FILE, "VEGA_LLM_PROVIDER_API_KEY_FILE", STRING, "", 0, 0, NULL, 0,
    "File holding the provider's API key (read by the proxy alone)")
VG_SETTING(LLM_ALLOWED_MODELS, "VEGA_LLM_ALLOWED_MODELS", STRING, "", 0, 0, NULL, 0,
    "Comma-separated models the proxy forwards (empty: every model in the price table)")
VG_SETTING(LLM_PRICES_FILE, "VEGA_LLM_PRICES_FILE", STRING, "", 0, 0, NULL, 0,
    "JSON price table: per model, USD per million input, cached input and output tokens")
VG_SETTING(LLM_PROXY_MAX_REQUESTS_PER_SCAN, "VEGA_LLM_PROXY_MAX_REQUESTS_PER_SCAN", INT, "0", 0, INT64_MAX, NULL, 0,
    "Provider requests one scan may make (0 = unlimited)")
VG_SETTING(LLM_PROXY_MAX_TOKENS_PER_SCAN, "VEGA_LLM_PROXY_MAX_TOKENS_PER_SCAN", INT, "0", 0, INT64_MAX, NULL, 0,
    "Tokens (input plus output) one scan may use (0 = unlimited)")
VG_SETTING(LLM_PROXY_MAX_COST_USD_PER_SCAN, "VEGA_LLM_PROXY_MAX_COST_USD_PER_SCAN", STRING, "0", 0, 0, NULL, 0,
    "US dollars one scan may spend, a decimal such as 2.50 (0 = unlimited)")
VG_SETTING(LLM_MAX_REQUEST_BYTES, "VEGA_LLM_MAX_REQUEST_BYTES", INT, "4194304", 1024, 268435456, NULL, 0,
    "Largest request body the proxy forwards (413 above)")
VG_SETTING(LLM_CONNECT_TIMEOUT_SECONDS, "VEGA_LLM_CONNECT_TIMEOUT_SECONDS", INT, "10", 1, 300, NULL, 0,
    "Seconds the proxy waits to connect to the provider")
VG_SETTING(LLM_IDLE_TIMEOUT_SECONDS, "VEGA_LLM_IDLE_TIMEOUT_SECONDS", INT, "300", 1, 3600, NULL, 0,
    "Seconds the proxy waits for the next byte from the provider")
VG_SETTING(LLM_RETRIES, "VEGA_LLM_RETRIES", INT, "2", 0, 10, NULL, 0,
    "Retries (with backoff) of a provider request that failed to connect or answered 5xx before any byte reached the client")
VG_SETTING(LLM_LOG_BODIES, "VEGA_LLM_LOG_BODIES", BOOL, "false", 0, 0, NULL, 0,
    "Record prompt and answer text in LLM usage records (off: counts only)")
