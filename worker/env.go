package worker

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisAddr is the local Redis the scripts use.
const DefaultRedisAddr = "127.0.0.1:6379"

// RedisOptionsFromEnv reads IVSBATCH_REDIS_ADDR (default 127.0.0.1:6379),
// IVSBATCH_REDIS_DB and IVSBATCH_REDIS_PASSWORD (or IVSBATCH_REDIS_PASSWORD_FILE).
func RedisOptionsFromEnv(getenv func(string) string) (*redis.Options, error) {
	o := &redis.Options{Addr: getenv("IVSBATCH_REDIS_ADDR")}
	if o.Addr == "" {
		o.Addr = DefaultRedisAddr
	}
	if v := getenv("IVSBATCH_REDIS_DB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("IVSBATCH_REDIS_DB %q: want a database number", v)
		}
		o.DB = n
	}
	o.Password = getenv("IVSBATCH_REDIS_PASSWORD")
	if f := getenv("IVSBATCH_REDIS_PASSWORD_FILE"); o.Password == "" && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("IVSBATCH_REDIS_PASSWORD_FILE: %w", err)
		}
		o.Password = strings.TrimRight(string(b), "\r\n")
	}
	return o, nil
}
