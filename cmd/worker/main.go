// Command worker runs ivsbatch workers and controls the account-wide pause.
//
//	worker run      serve the queue: fetch media, prevalidate, call IVS, store outcomes
//	worker pause    stop all IVS traffic (stored in Postgres, the queue paused)
//	worker resume   lift a pause (after IVS.0014/IVS.0015 were resolved, or an operator pause)
//	worker status   show whether traffic is paused, and why
//
// Configuration comes from the environment (see README.md); credentials are
// never accepted as flags.
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
	cli.Main("worker", []cli.Command{
		{Name: "run", Summary: "serve the queue until SIGTERM (in-flight records finish or go back to the queue)",
			Run: func(ctx context.Context, args []string) error {
				if levelErr != nil {
					return levelErr
				}
				return run(ctx, log, args)
			}},
		{Name: "pause", Summary: `stop all IVS traffic: -reason "why"`, Run: pause},
		{Name: "resume", Summary: "lift the account-wide pause", Run: resume},
		{Name: "status", Summary: "print whether traffic is paused and why", Run: status},
	}, `Settings and credentials come from the environment: IVSBATCH_DATABASE_URL,
IVSBATCH_REDIS_URL (redis://, rediss://, redis-sentinel://; or IVSBATCH_REDIS_ADDR),
IVSBATCH_RECONCILE_CRON, IVSBATCH_S3_ENDPOINT, IVSBATCH_S3_BUCKETS, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, IVS_ENDPOINT, IVS_AK/IVS_SK (or *_FILE), IVS_IAM_*,
IVSBATCH_PII_KEYS / IVSBATCH_PII_INDEX_KEY (see README.md).
`)
}
