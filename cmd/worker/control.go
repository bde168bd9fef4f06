package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

func connect(ctx context.Context) (*store.Store, redis.UniversalClient, error) {
	st, err := store.Open(ctx, store.URLFromEnv())
	if err != nil {
		return nil, nil, err
	}
	rc, err := worker.RedisFromEnv(os.Getenv)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, rc.NewClient(), nil
}

// withServers parses fs, connects to Postgres and Redis, and runs fn.
func withServers(ctx context.Context, fs *flag.FlagSet, args []string, fn func(*store.Store, redis.UniversalClient) error) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, rdb, err := connect(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	defer rdb.Close()
	return fn(st, rdb)
}

func pause(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker pause", flag.ContinueOnError)
	reason := fs.String("reason", "", "why traffic is paused (stored and shown by status); required")
	return withServers(ctx, fs, args, func(st *store.Store, rdb redis.UniversalClient) error {
		if *reason == "" {
			return fmt.Errorf("pause: -reason is required")
		}
		if err := worker.Pause(ctx, st, rdb, *reason); err != nil {
			return err
		}
		fmt.Println("paused: no IVS call goes out until `worker resume`")
		return nil
	})
}

func resume(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker resume", flag.ContinueOnError)
	return withServers(ctx, fs, args, func(st *store.Store, rdb redis.UniversalClient) error {
		if err := worker.Resume(ctx, st, rdb); err != nil {
			return err
		}
		fmt.Println("resumed")
		return nil
	})
}

func status(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker status", flag.ContinueOnError)
	return withServers(ctx, fs, args, func(st *store.Store, _ redis.UniversalClient) error {
		code, reason, paused, err := st.Paused(ctx)
		if err != nil {
			return err
		}
		if paused {
			fmt.Printf("paused: %s: %s\n", code, reason)
		} else {
			fmt.Println("running")
		}
		return nil
	})
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if f, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return f
	}
	return def
}
