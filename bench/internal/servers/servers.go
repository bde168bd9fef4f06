// Package servers starts what the benchmark programs run against: a fresh
// Postgres database on the admin server and a private redis-server.
package servers

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/store"
)

// CreateDatabase creates a fresh database, named after prefix, on the server
// of IVSBATCH_PG_ADMIN_URL (default trust auth on 127.0.0.1:5432) and returns
// its URL and a function that drops it. The database is migrated, as `ops
// migrate` leaves it.
func CreateDatabase(ctx context.Context, prefix string) (string, func(), error) {
	admin := os.Getenv("IVSBATCH_PG_ADMIN_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("postgres admin connection: %w", err)
	}
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("admin url: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := conn.Exec(c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "drop database:", err)
		}
		conn.Close(c)
	}
	if _, err := store.Migrate(ctx, u.String()); err != nil {
		drop()
		return "", nil, err
	}
	return u.String(), drop, nil
}

// StartRedis starts a private redis-server without persistence in dir and
// returns its address and process (kill it and wait when done).
func StartRedis(ctx context.Context, dir string) (string, *exec.Cmd, error) {
	port, err := FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (run scripts/deps.sh): %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := WaitListening(ctx, addr); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, fmt.Errorf("redis-server: %w", err)
	}
	return addr, cmd, nil
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitListening waits up to about 20 s for addr to accept connections.
func WaitListening(ctx context.Context, addr string) error {
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: not listening", addr)
}
