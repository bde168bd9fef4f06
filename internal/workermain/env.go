package workermain

import (
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

// ParseEnv fills m.Config from the environment (get is os.Getenv in
// production) over its current values, strictly: a bad value is an error
// naming the variable (exit 2).
func (m *Main) ParseEnv(get envconf.Lookup) error {
	c := &m.Config
	var err error
	if c.DatabaseURL, err = config.DatabaseURL(get); err != nil {
		return err
	}
	if c.Keyring, err = config.Keyring(get); err != nil {
		return err
	}
	if c.Redis, err = config.Redis(get); err != nil {
		return err
	}
	if c.IVS, err = config.IVS(get); err != nil {
		return err
	}
	c.ObjStore = config.ObjStore(get)
	if c.KeepPictures, err = config.KeepPictures(get); err != nil {
		return err
	}
	if c.Media, err = config.Media(get); err != nil {
		return err
	}
	if c.Policy, err = config.Policy(get); err != nil {
		return err
	}
	if c.Quota, err = config.Quota(get); err != nil {
		return err
	}
	if c.Webhooks, err = config.Webhook(get, c.Webhooks); err != nil {
		return err
	}
	return m.parseRunEnv(get)
}

// parseRunEnv reads the settings only `worker run` has.
func (m *Main) parseRunEnv(get envconf.Lookup) error {
	c := &m.Config
	var err error
	if c.Concurrency, err = envconf.PositiveInt(get, "IVSBATCH_CONCURRENCY", c.Concurrency, "records handled at once"); err != nil {
		return err
	}
	if c.Window, err = envconf.PositiveInt(get, "IVSBATCH_QUEUE_WINDOW", c.Window, "tasks"); err != nil {
		return err
	}
	if c.MetricsAddr, err = envconf.HostPort(get, "IVSBATCH_METRICS_ADDR", c.MetricsAddr); err != nil {
		return err
	}
	if c.Pprof, err = envconf.Bool(get, "IVSBATCH_PPROF", c.Pprof); err != nil {
		return err
	}
	if c.DedupWindow, err = envconf.Duration(get, "IVSBATCH_DEDUP_WINDOW", c.DedupWindow); err != nil {
		return err
	}
	if c.InfraMaxTries, err = envconf.PositiveInt(get, "IVSBATCH_INFRA_MAX_TRIES", c.InfraMaxTries, "consecutive failures"); err != nil {
		return err
	}
	if c.InfraMaxAge, err = envconf.PositiveDuration(get, "IVSBATCH_INFRA_MAX_AGE", c.InfraMaxAge); err != nil {
		return err
	}
	c.ReconcileCron = envconf.String(get, "IVSBATCH_RECONCILE_CRON", c.ReconcileCron)
	if _, err := ops.ParseReconcileCron(c.ReconcileCron); err != nil {
		return &envconf.Error{Name: "IVSBATCH_RECONCILE_CRON", Value: c.ReconcileCron,
			Want: `a cron spec such as "` + ops.DefaultReconcileCron + `" (minute hour day month weekday) or "off"`}
	}
	queues := envconf.String(get, "IVSBATCH_QUEUES", strings.Join(c.Queues, ","))
	if c.Queues, err = worker.ParseQueues(queues); err != nil {
		return &envconf.Error{Name: "IVSBATCH_QUEUES", Value: queues, Want: "a comma-separated list of " +
			strings.Join(taskqueue.Queues, ", ")}
	}
	return nil
}
