package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Config, written once.
const (
	// DefaultFetchLimit bounds what is read of one media object (a phone
	// video can be large; what IVS accepts is far smaller and comes out of
	// Prepare).
	DefaultFetchLimit = 64 << 20
	// DefaultMediaTimeout bounds fetching a record's media, and separately
	// preparing it (probes and transcodes).
	DefaultMediaTimeout = time.Minute
	// DefaultLimiterTimeout bounds the wait for the shared rate limiter.
	DefaultLimiterTimeout = time.Minute
	// DefaultStoreRetry is how long a failing outcome write is retried: the
	// call may have been paid for.
	DefaultStoreRetry = 2 * time.Minute
	// DefaultInfraMaxTries and DefaultInfraMaxAge bound infrastructure
	// trouble (fetch, prepare, store, limiter) per record: with the backoff
	// below (2 s doubling to 5 min) a 30-minute S3 outage is ridden out,
	// and a permanent one ends the record failed infra.* within 2 hours.
	DefaultInfraMaxTries    = 30
	DefaultInfraMaxAge      = 2 * time.Hour
	DefaultInfraBackoffBase = 2 * time.Second
	DefaultInfraBackoffMax  = 5 * time.Minute
	// DefaultDedupWait is how long a record waits before looking again when
	// a record with identical inputs is being verified.
	DefaultDedupWait = 2 * time.Second
	// DefaultTaskTimeout covers the worst case of one task: fetch and
	// prepare (each under DefaultMediaTimeout), the limiter wait, a call
	// and its one resend after an auth refresh (DefaultCallTimeout each),
	// and the outcome write (DefaultStoreRetry), with a margin.
	DefaultTaskTimeout = 2*DefaultMediaTimeout + DefaultLimiterTimeout + 2*DefaultCallTimeout + DefaultStoreRetry +
		30*time.Second
)

// Infrastructure error codes: the record's last_error_code when it ended
// failed because infrastructure trouble outlasted the infra bound. Resume
// with `ops requeue -code infra.fetch` (etc.) once the trouble is fixed.
const (
	CodeInfraFetch   = "infra.fetch"   // the media store did not answer (or failed)
	CodeInfraPrepare = "infra.prepare" // media tooling failed (ffmpeg killed, temp files, deadline)
	CodeInfraStore   = "infra.store"   // Postgres refused a write or a look-up
	CodeInfraLimiter = "infra.limiter" // the shared rate limiter (Redis) failed or timed out
)

// Config is what a Processor needs. Zero values take the defaults above
// (see WithDefaults); NewProcessor validates it.
type Config struct {
	Records  RecordStore
	Account  AccountState
	Verifier Verifier
	Fetcher  Fetcher
	Preparer Preparer
	Limiter  Limiter
	// Policy is the retry table; a zero Policy is DefaultPolicy, and zero
	// fields of a partial one take its defaults.
	Policy Policy
	// PauseQueue stops every worker from taking tasks (asynq's queue pause);
	// called after an account-wide stop is stored. May be nil.
	PauseQueue func(ctx context.Context) error
	Log        *slog.Logger
	// Dedup and Index, when set, let a record reuse the verdict of an
	// earlier record with identical inputs (see InputDigest). DedupWindow
	// bounds the age of a verdict reused across batches (0: the default,
	// negative: never across batches).
	Dedup       Deduper
	Index       Indexer
	DedupWindow time.Duration
	DedupWait   time.Duration
	// Pictures, when set, keeps the liveness picture of video verdicts in
	// object storage; nil drops it (the default: keep the minimum).
	Pictures PictureStore

	FetchLimit     int64
	MediaTimeout   time.Duration
	LimiterTimeout time.Duration
	StoreRetry     time.Duration
	// InfraMaxTries and InfraMaxAge bound infrastructure trouble per record:
	// it ends failed infra.* after that many consecutive failures or that
	// long since the first, whichever comes first. Retries back off from
	// InfraBackoffBase to InfraBackoffMax.
	InfraMaxTries    int
	InfraMaxAge      time.Duration
	InfraBackoffBase time.Duration
	InfraBackoffMax  time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BeforeSend, when set, runs after the budget reservation and the
	// limiter wait, right before the attempt is marked in flight (tests
	// widen the crash window with it).
	BeforeSend func(ctx context.Context, rec *Record)
}

// WithDefaults returns c with zero values replaced by defaults.
func (c Config) WithDefaults() Config {
	d := DefaultPolicy()
	if c.Policy.Rules == nil {
		c.Policy.Rules = d.Rules
	}
	c.Policy.MaxAttempts = cmp.Or(c.Policy.MaxAttempts, d.MaxAttempts)
	c.Policy.BackoffBase = cmp.Or(c.Policy.BackoffBase, d.BackoffBase)
	c.Policy.BackoffMax = cmp.Or(c.Policy.BackoffMax, d.BackoffMax)
	c.Policy.ThrottleWait = cmp.Or(c.Policy.ThrottleWait, d.ThrottleWait)
	c.Policy.PauseWait = cmp.Or(c.Policy.PauseWait, d.PauseWait)
	c.Log = cmp.Or(c.Log, slog.Default())
	c.DedupWindow = cmp.Or(c.DedupWindow, DefaultDedupWindow)
	c.DedupWait = cmp.Or(c.DedupWait, DefaultDedupWait)
	c.FetchLimit = cmp.Or(c.FetchLimit, DefaultFetchLimit)
	c.MediaTimeout = cmp.Or(c.MediaTimeout, DefaultMediaTimeout)
	c.LimiterTimeout = cmp.Or(c.LimiterTimeout, DefaultLimiterTimeout)
	c.StoreRetry = cmp.Or(c.StoreRetry, DefaultStoreRetry)
	c.InfraMaxTries = cmp.Or(c.InfraMaxTries, DefaultInfraMaxTries)
	c.InfraMaxAge = cmp.Or(c.InfraMaxAge, DefaultInfraMaxAge)
	c.InfraBackoffBase = cmp.Or(c.InfraBackoffBase, DefaultInfraBackoffBase)
	c.InfraBackoffMax = cmp.Or(c.InfraBackoffMax, DefaultInfraBackoffMax)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate says which field of a defaulted Config is wrong.
func (c Config) validate() error {
	var errs []error
	for name, missing := range map[string]bool{"Records": c.Records == nil, "Account": c.Account == nil,
		"Verifier": c.Verifier == nil, "Fetcher": c.Fetcher == nil, "Preparer": c.Preparer == nil,
		"Limiter": c.Limiter == nil} {
		if missing {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if (c.Dedup == nil) != (c.Index == nil) {
		errs = append(errs, errors.New("Dedup and Index go together (the digest is keyed with Index)"))
	}
	if err := c.Policy.validate(); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]time.Duration{"MediaTimeout": c.MediaTimeout, "LimiterTimeout": c.LimiterTimeout,
		"StoreRetry": c.StoreRetry, "InfraMaxAge": c.InfraMaxAge, "InfraBackoffBase": c.InfraBackoffBase,
		"InfraBackoffMax": c.InfraBackoffMax, "DedupWait": c.DedupWait} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %s: want a positive duration", name, d))
		}
	}
	if c.FetchLimit < 0 || c.InfraMaxTries < 0 {
		errs = append(errs, fmt.Errorf("FetchLimit %d, InfraMaxTries %d: want positive numbers", c.FetchLimit, c.InfraMaxTries))
	}
	if c.InfraBackoffBase > c.InfraBackoffMax {
		errs = append(errs, fmt.Errorf("InfraBackoffBase %s exceeds InfraBackoffMax %s", c.InfraBackoffBase, c.InfraBackoffMax))
	}
	return errors.Join(errs...)
}

// NewProcessor returns a Processor for cfg with defaults applied, or an
// error naming every field that is wrong.
func NewProcessor(cfg Config) (*Processor, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("pipeline: processor config: %w", err)
	}
	return &Processor{Config: cfg, pre: newPrevalidator(cfg)}, nil
}
