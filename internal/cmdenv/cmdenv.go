// Package cmdenv builds what the operator's commands use — enqueue, ops,
// demo, server, and worker's pause, resume and status — as internal/workermain does
// for worker run: a Config of plain values, filled from the environment by
// ParseEnv (reading, strictly, only what the command Needs) or written by a
// test, and Open, the one constructor of the store, Redis client, media
// source and preparer those commands run on.
package cmdenv

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Needs says what a command uses; ParseEnv reads those settings only (a
// bad IVSBATCH_QUOTA does not stop ops status) and Open opens those only.
type Needs uint

const (
	// Store is Postgres (IVSBATCH_DATABASE_URL), with the keys for
	// personal data when they are set.
	Store Needs = 1 << iota
	// Keys makes the keys for personal data required: a command that
	// seals or opens it (enqueue submit, ops export …) stops with exit 2
	// naming IVSBATCH_PII_KEYS before it connects. Implies Store.
	Keys
	// Redis is the queue's Redis (IVSBATCH_REDIS_*), checked to answer.
	Redis
	// Objects is object storage as a media source (IVSBATCH_S3_*, AWS_*,
	// IVSBATCH_MEDIA_ROOT; the kept pictures denied).
	Objects
	// Preparer is the media preparer (IVSBATCH_MEDIA_*, IVSBATCH_TRIM_VIDEO),
	// its tools checked. With Objects, Open builds the prevalidator.
	Preparer
	// Quota is IVSBATCH_QUOTA (plans).
	Quota
	// Price is IVSBATCH_PRICE_PER_CALL (forced re-verifications).
	Price
	// Policy is the retry table (IVSBATCH_RETRY_RULES, IVSBATCH_MAX_ATTEMPTS).
	Policy
)

// Config is what Open builds from, as plain values.
type Config struct {
	Needs       Needs
	DatabaseURL string
	Keyring     *pii.Keyring // nil: personal data can be neither sealed nor read
	Redis       worker.RedisConfig
	Objects     objstore.Config
	Media       media.Config
	Quota       float64
	Price       ops.Price
	Policy      pipeline.Policy
	// Operator is who runs the command, for the audit log ($USER; the
	// commands' -operator default).
	Operator string
}

// ParseEnv reads the settings of needs from get (os.Getenv in production),
// strictly: a bad value is an *envconf.Error, a required setting that is
// unset an *envconf.Missing, each naming the variable (exit 2).
func ParseEnv(get envconf.Lookup, needs Needs) (Config, error) {
	c := Config{Needs: needs, Operator: config.Operator(get)}
	var err error
	if needs&(Store|Keys) != 0 {
		if c.DatabaseURL, err = config.DatabaseURL(get); err != nil {
			return c, err
		}
		if c.Keyring, err = config.Keyring(get); err != nil {
			return c, err
		}
	}
	if err := c.requireKeys(); err != nil {
		return c, err
	}
	if needs&Redis != 0 {
		if c.Redis, err = config.Redis(get); err != nil {
			return c, err
		}
	}
	if needs&Objects != 0 {
		if c.Objects, err = config.MediaSource(get); err != nil {
			return c, err
		}
	}
	if needs&Preparer != 0 {
		if c.Media, err = config.Media(get); err != nil {
			return c, err
		}
	}
	if needs&Quota != 0 {
		if c.Quota, err = config.Quota(get); err != nil {
			return c, err
		}
	}
	if needs&Price != 0 {
		if c.Price, err = config.Price(get); err != nil {
			return c, err
		}
	}
	if needs&Policy != 0 {
		if c.Policy, err = config.Policy(get); err != nil {
			return c, err
		}
	}
	return c, nil
}

// requireKeys is the Keys need: no keyring is a missing setting.
func (c Config) requireKeys() error {
	if c.Needs&Keys != 0 && c.Keyring == nil {
		return &envconf.Missing{Name: "IVSBATCH_PII_KEYS",
			Want: "keys for personal data: IVSBATCH_PII_KEYS (or _FILE) and IVSBATCH_PII_INDEX_KEY (see README)"}
	}
	return nil
}

// Env is what a command runs on; the fields its Needs did not ask for are
// nil.
type Env struct {
	Config   Config
	Store    *store.Store
	Redis    redis.UniversalClient
	Objects  *objstore.Store
	Preparer pipeline.Preparer
}

// Open connects to what c.Needs names, in the order a command needs them
// (Postgres first: a database lacking a migration stops it with exit 3),
// and closes what it opened when a later one fails.
func Open(ctx context.Context, c Config) (_ *Env, err error) {
	if err := c.requireKeys(); err != nil {
		return nil, err
	}
	e := &Env{Config: c}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if c.Needs&(Store|Keys) != 0 {
		if e.Store, err = store.Open(ctx, c.DatabaseURL, store.WithKeyring(c.Keyring)); err != nil {
			return nil, err
		}
	}
	if c.Needs&Redis != 0 {
		if e.Redis, err = worker.ConnectRedis(ctx, c.Redis); err != nil {
			return nil, err
		}
	}
	if c.Needs&Objects != 0 {
		if e.Objects, err = objstore.New(ctx, c.Objects); err != nil {
			return nil, err
		}
	}
	if c.Needs&Preparer != 0 {
		p := media.New(c.Media)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err = p.CheckTools(cctx); err != nil {
			return nil, err
		}
		e.Preparer = p
	}
	return e, nil
}

// FromEnv is ParseEnv and Open: what a command does first.
func FromEnv(ctx context.Context, get envconf.Lookup, needs Needs) (*Env, error) {
	c, err := ParseEnv(get, needs)
	if err != nil {
		return nil, err
	}
	return Open(ctx, c)
}

// Prevalidator is what a worker does before calling IVS (fetch, check,
// prepare, validate), on e's media source and preparer: ops prevalidate.
func (e *Env) Prevalidator() (*pipeline.Prevalidator, error) {
	if e.Objects == nil || e.Preparer == nil {
		return nil, errors.New("cmdenv: the prevalidator needs Objects and Preparer")
	}
	return pipeline.NewPrevalidator(worker.RejectingFetcher{Store: e.Objects}, e.Preparer), nil
}

// Close closes what Open opened.
func (e *Env) Close() {
	if e.Redis != nil {
		_ = e.Redis.Close()
	}
	if e.Store != nil {
		e.Store.Close()
	}
}
