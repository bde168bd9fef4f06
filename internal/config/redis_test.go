package config_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestRedisFromEnvParses(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string // Display
	}{
		{"default", nil, "redis://127.0.0.1:6379/0"},
		{"addr and db", map[string]string{"IVSBATCH_REDIS_ADDR": "redis:6380", "IVSBATCH_REDIS_DB": "3"}, "redis://redis:6380/3"},
		{"url", map[string]string{"IVSBATCH_REDIS_URL": "redis://:pw@10.0.0.1:6379/2"}, "redis://10.0.0.1:6379/2"},
		{"sentinel", map[string]string{"IVSBATCH_REDIS_URL": "redis-sentinel://s1:26379,s2:26379?master=main"},
			"redis-sentinel://s1:26379,s2:26379/0?master=main"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, err := config.Redis(env(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if rc.Display != c.want {
				t.Fatalf("Display %q, want %q", rc.Display, c.want)
			}
			if strings.Contains(rc.Display, "pw") {
				t.Fatal("the password is shown")
			}
		})
	}
	rc, _ := config.Redis(env(map[string]string{"IVSBATCH_REDIS_URL": "redis-sentinel://:spw@s1:26379/1?master=main",
		"IVSBATCH_REDIS_PASSWORD": "ppw"}))
	fo, ok := rc.Conn.(asynq.RedisFailoverClientOpt)
	if !ok || fo.MasterName != "main" || fo.SentinelPassword != "spw" || fo.Password != "ppw" || fo.DB != 1 {
		t.Fatalf("sentinel options %+v", rc.Conn)
	}
}

func TestRedisFromEnvRefusesNonsense(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string // in the error: the variable and what is expected
	}{
		{map[string]string{"IVSBATCH_REDIS_URL": "http://x:1"}, `IVSBATCH_REDIS_URL "http://x:1": scheme "http"`},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis://x"}, `"x": want host:port`},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis://x:1/zero"}, "want a database number"},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis://x:1?db=2"}, "no query"},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis-sentinel://s:26379"}, "master=NAME"},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis://x:1", "IVSBATCH_REDIS_ADDR": "y:2"}, "both set"},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis://x:1", "IVSBATCH_REDIS_TLS_CA_FILE": "/ca"}, "want rediss://"},
		{map[string]string{"IVSBATCH_REDIS_URL": "rediss://x:1", "IVSBATCH_REDIS_TLS_CERT_FILE": "/c"}, "want both"},
		{map[string]string{"IVSBATCH_REDIS_URL": "rediss://x:1", "IVSBATCH_REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"}, "IVSBATCH_REDIS_TLS_CA_FILE"},
		{map[string]string{"IVSBATCH_REDIS_ADDR": "localhost"}, `IVSBATCH_REDIS_ADDR "localhost": want host:port`},
		{map[string]string{"IVSBATCH_REDIS_DB": "-1"}, `IVSBATCH_REDIS_DB "-1"`},
		{map[string]string{"IVSBATCH_REDIS_URL": "redis://:secret@x"}, "IVSBATCH_REDIS_URL"},
	}
	for _, c := range cases {
		_, err := config.Redis(env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.env, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%v: the error shows the password: %v", c.env, err)
		}
	}
}

// A real TLS redis-server with client certificates: the client built from
// the environment talks to it; without the client certificate it cannot.
func TestRedisFromEnvTLS(t *testing.T) {
	srv := testenv.RedisTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := config.Redis(env(map[string]string{"IVSBATCH_REDIS_URL": srv.URL(),
		"IVSBATCH_REDIS_TLS_CA_FILE": srv.CAFile, "IVSBATCH_REDIS_TLS_CERT_FILE": srv.CertFile, "IVSBATCH_REDIS_TLS_KEY_FILE": srv.KeyFile}))
	if err != nil {
		t.Fatal(err)
	}
	rdb := rc.NewClient()
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping over TLS: %v", err)
	}
	rc, err = config.Redis(env(map[string]string{"IVSBATCH_REDIS_URL": srv.URL(), "IVSBATCH_REDIS_TLS_CA_FILE": srv.CAFile}))
	if err != nil {
		t.Fatal(err)
	}
	noCert := rc.NewClient()
	defer noCert.Close()
	if err := noCert.Ping(ctx).Err(); err == nil {
		t.Fatal("the server accepted a client without a certificate; the test proves nothing")
	}
}

// Through a real Sentinel the client finds the primary, and after the
// primary is killed, the promoted replica.
func TestRedisFromEnvSentinel(t *testing.T) {
	set := testenv.RedisSentinel(t)
	rc, err := config.Redis(env(map[string]string{"IVSBATCH_REDIS_URL": set.URL()}))
	if err != nil {
		t.Fatal(err)
	}
	rdb := rc.NewClient()
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("write through the Sentinel: %v", err)
	}
	set.KillPrimary(t)
	set.WaitFailover(t, 30*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := rdb.Set(ctx, "k2", "v", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write after the failover: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
