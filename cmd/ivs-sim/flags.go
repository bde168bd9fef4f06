package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/synth"
)

// Demo credentials accepted when IVS_AK/IVS_SK are not set (not secrets).
const (
	demoAK = "SIMAK0000000000000000"
	demoSK = "sim-secret-key"
)

type options struct {
	addr, registry, projectID, ffprobe, account string
	quota                                       float64
	tokenTTL                                    time.Duration
	latency                                     ivssim.Latency
	faults                                      ivssim.Faults
	seed                                        int64
	level                                       slog.Level
}

func parseFlags(args []string) (*options, error) {
	var o options
	fs := flag.NewFlagSet("ivs-sim", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ivs-sim [flags]\n\nSimulates Huawei Cloud IVS, its API gateway and IAM tokens (see `go doc ./ivssim`).\n"+
			"Credentials from the environment only: IVS_AK/IVS_SK (or _FILE; default the demo pair %s / %s),\n"+
			"IVS_IAM_DOMAIN, IVS_IAM_USER, IVS_IAM_PASSWORD (or IVS_IAM_PASSWORD_FILE) for token auth.\n\nFlags:\n", demoAK, demoSK)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\n%s", cli.ExitCodes)
	}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8090", "listen address (the admin routes /_sim/* are unauthenticated: keep it on loopback)")
	fs.StringVar(&o.registry, "registry", "", "registry of synthetic people, JSON Lines as `demo prepare` writes (empty: nobody exists: every id number → 3001, every id-card image → IVS.0007)")
	fs.StringVar(&o.projectID, "project-id", os.Getenv("IVS_PROJECT_ID"), "project id; a signed X-Project-Id other than this is refused (default $IVS_PROJECT_ID; empty: not checked)")
	fs.Float64Var(&o.quota, "quota", ivssim.DefaultQuota, "requests per second accepted per endpoint (sliding 1 s window); negative: off")
	fs.DurationVar(&o.tokenTTL, "token-ttl", ivssim.DefaultTokenTTL, "lifetime of issued IAM tokens")
	fs.DurationVar(&o.latency.Fixed, "latency", 0, "fixed service time added to every IVS call")
	fs.DurationVar(&o.latency.Jitter, "jitter", 0, "uniform random extra service time, 0..jitter")
	fs.Float64Var(&o.faults.Rate500, "rate-500", 0, "probability of 500 IVS.0101")
	fs.Float64Var(&o.faults.Rate504, "rate-504", 0, "probability of 504 APIG.0201")
	fs.Float64Var(&o.faults.RateSlow, "rate-slow", 0, "probability of answering only after -slow-delay (then billed normally)")
	fs.DurationVar(&o.faults.SlowDelay, "slow-delay", ivssim.DefaultSlowDelay, "delay of a slow answer")
	fs.Float64Var(&o.faults.RateDrop, "rate-drop", 0, "probability of closing the connection without an answer")
	fs.Float64Var(&o.faults.RateTokenExpire, "rate-token-expire", 0, "probability of expiring the caller's token early (401 APIG.0307)")
	fs.StringVar(&o.account, "account", "", `initial account state: "" normal, IVS.0014 frozen, IVS.0015 not subscribed`)
	fs.Int64Var(&o.seed, "seed", 1, "seed of the fault and latency random numbers")
	fs.StringVar(&o.ffprobe, "ffprobe", ivssim.DefaultFFprobe, "ffprobe binary used to check videos")
	fs.TextVar(&o.level, "log-level", slog.LevelInfo, "log level: DEBUG (one line per call), INFO, WARN, ERROR")
	if _, err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	switch o.account {
	case "", ivssim.CodeFrozen, ivssim.CodeNotSubscribed:
	default:
		return nil, cli.Usagef(fs, "-account %q: want \"\", %s or %s", o.account, ivssim.CodeFrozen, ivssim.CodeNotSubscribed)
	}
	return &o, nil
}

// config builds the simulator Config from the flags and the environment.
func (o *options) config(getenv func(string) string, log *slog.Logger) (ivssim.Config, error) {
	cfg := ivssim.Config{
		ProjectID: o.projectID, TokenTTL: o.tokenTTL, Quota: o.quota, Latency: o.latency,
		Faults: o.faults, FFprobe: o.ffprobe, Logger: log, Seed: o.seed,
		Registry: synth.NewRegistry(nil), // nobody exists: every id number → 3001
	}
	if o.registry != "" {
		reg, err := synth.LoadRegistry(o.registry)
		if err != nil {
			return cfg, err
		}
		cfg.Registry = reg
	}
	ak, err := config.Secret(getenv, "IVS_AK")
	if err != nil {
		return cfg, err
	}
	sk, err := config.Secret(getenv, "IVS_SK")
	if err != nil {
		return cfg, err
	}
	if ak == "" && sk == "" {
		log.Warn("IVS_AK/IVS_SK not set: accepting the demo AK/SK pair", slog.String("ak", demoAK))
		ak, sk = demoAK, demoSK
	}
	cfg.Credentials = []ivssim.Credential{{AK: ak, SK: sk}}
	pw, err := config.Secret(getenv, "IVS_IAM_PASSWORD")
	if err != nil {
		return cfg, err
	}
	if d, u := getenv("IVS_IAM_DOMAIN"), getenv("IVS_IAM_USER"); d != "" || u != "" || pw != "" {
		cfg.IAMUsers = []ivssim.IAMUser{{Domain: d, User: u, Password: pw}}
	}
	return cfg, nil
}
