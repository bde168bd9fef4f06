package main

import (
	"context"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// withServers connects to Postgres and Redis (checking that Redis answers)
// and runs fn.
func withServers(ctx context.Context, fn func(*store.Store, redis.UniversalClient) error) error {
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Store|cmdenv.Redis)
	if err != nil {
		return err
	}
	defer env.Close()
	return fn(env.Store, env.Redis)
}

func pause(ctx context.Context, args []string) error {
	fs := cli.NewFlags("worker pause", `-reason "why"`, `Stops all IVS traffic, account-wide: the pause is stored in Postgres (with the
reason) and the queues are paused, so no worker sends a call until
"worker resume". Workers pause by themselves on IVS.0014 (frozen) and
IVS.0015 (not subscribed). Audited.`)
	reason := fs.String("reason", "", "why traffic is paused (stored and shown by status); required")
	operator := fs.String("operator", config.Operator(os.Getenv), "who pauses, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *reason == "" {
		return cli.Usagef(fs, "-reason is required")
	}
	return withServers(ctx, func(st *store.Store, rdb redis.UniversalClient) error {
		if err := worker.Pause(ctx, st, rdb, *reason); err != nil {
			return err
		}
		if err := st.Audit(ctx, store.AuditEntry{Operator: *operator, Command: "pause", Reason: *reason}); err != nil {
			return err
		}
		fmt.Println("paused: no IVS call goes out until `worker resume`")
		return nil
	})
}

func resume(ctx context.Context, args []string) error {
	fs := cli.NewFlags("worker resume", "", `Lifts the account-wide pause (after IVS.0014/IVS.0015 were resolved with
Huawei Cloud, or after an operator's "worker pause"): clears it in Postgres
and unpauses the queues. Records held by the pause continue. Audited, with
the pause it lifted.`)
	operator := fs.String("operator", config.Operator(os.Getenv), "who resumes, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	return withServers(ctx, func(st *store.Store, rdb redis.UniversalClient) error {
		code, reason, paused, err := st.Paused(ctx)
		if err != nil {
			return err
		}
		if err := worker.Resume(ctx, st, rdb); err != nil {
			return err
		}
		if err := st.Audit(ctx, store.AuditEntry{Operator: *operator, Command: "resume",
			Result: map[string]any{"was_paused": paused, "pause_code": code, "pause_reason": reason}}); err != nil {
			return err
		}
		fmt.Println("resumed")
		return nil
	})
}

func status(ctx context.Context, args []string) error {
	fs := cli.NewFlags("worker status", "", `Prints whether IVS traffic is paused and why (from Postgres), and fails
(exit 1) when Redis, which delivers the records to workers, does not answer.
For queues and batches see "ops status".`)
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	// Both settings are read first; Redis is asked after the pause is read.
	c, err := cmdenv.ParseEnv(os.Getenv, cmdenv.Store|cmdenv.Redis)
	if err != nil {
		return err
	}
	c.Needs = cmdenv.Store
	env, err := cmdenv.Open(ctx, c)
	if err != nil {
		return err
	}
	defer env.Close()
	code, reason, paused, err := env.Store.Paused(ctx)
	if err != nil {
		return err
	}
	rdb, rerr := worker.ConnectRedis(ctx, c.Redis)
	switch {
	case paused:
		fmt.Printf("paused: %s: %s\n", code, reason)
	case rerr == nil:
		fmt.Println("running")
	}
	if rerr != nil {
		return fmt.Errorf("not running: %w", rerr)
	}
	return rdb.Close()
}
