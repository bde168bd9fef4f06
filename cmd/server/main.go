// Command server serves ivsbatch over HTTP: the JSON API under /api/v1 for
// systems, the operator console for people, /healthz and /metrics.
//
//	server run            serve until SIGINT/SIGTERM
//	server token-create   make an API token for a system (printed once)
//	server token-list     list API tokens (never the tokens)
//	server token-revoke   revoke an API token
//	server user-add       add an operator account (password on stdin)
//	server user-update    change an account's password, role, or disable it
//	server user-list      list operator accounts
//
// Settings come from the environment like the other commands (README.md);
// secrets are never flags: tokens and passwords are stored hashed in
// Postgres, a new password is read from standard input.
package main

import (
	"context"
	"os"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/config"
)

func main() {
	level, levelErr := config.LogLevel(os.Getenv)
	log := cli.ServiceLog(level)
	cli.Main("server", []cli.Command{
		{Name: "run", Summary: "serve the API and the console until SIGTERM",
			Run: func(ctx context.Context, args []string) error {
				if levelErr != nil {
					return levelErr
				}
				return run(ctx, log, args)
			}},
		{Name: "token-create", Summary: "-name NAME -role viewer|operator|admin: make an API token (printed once)", Run: tokenCreate},
		{Name: "token-list", Summary: "list API tokens: id, name, role, created, last used, revoked", Run: tokenList},
		{Name: "token-revoke", Summary: "-id N: revoke an API token", Run: tokenRevoke},
		{Name: "user-add", Summary: "-name NAME -role ROLE: add an operator account; the password is read from stdin", Run: userAdd},
		{Name: "user-update", Summary: "-name NAME [-password] [-role ROLE] [-disable|-enable]: change an account", Run: userUpdate},
		{Name: "user-list", Summary: "list operator accounts", Run: userList},
	}, `Settings come from the environment: IVSBATCH_DATABASE_URL, IVSBATCH_REDIS_URL
(or IVSBATCH_REDIS_ADDR …), IVSBATCH_S3_ENDPOINT and AWS_* (s3:// manifests),
IVSBATCH_S3_BUCKETS and IVSBATCH_MEDIA_ROOT (the media policy of submitted rows),
IVSBATCH_QUOTA (plans), IVSBATCH_PII_KEYS / IVSBATCH_PII_INDEX_KEY (exports), and
IVSBATCH_SERVER_ADDR (default 127.0.0.1:8080), IVSBATCH_SERVER_TLS_CERT_FILE and
IVSBATCH_SERVER_TLS_KEY_FILE, IVSBATCH_SERVER_TRUSTED_PROXIES (CIDRs of the reverse
proxy that terminates TLS), IVSBATCH_SERVER_SESSION_TTL (12h),
IVSBATCH_SERVER_MAX_UPLOAD_MB (1024). Without TLS or a trusted proxy the server
only listens on loopback.
`)
}
