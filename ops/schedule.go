package ops

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

// DefaultReconcileCron is when workers run reconcile unless
// IVSBATCH_RECONCILE_CRON says otherwise: nightly at 03:00 (the workers'
// time zone; prefix CRON_TZ=Asia/Shanghai to choose one).
const DefaultReconcileCron = "0 3 * * *"

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseReconcileCron reads IVSBATCH_RECONCILE_CRON: a cron spec (five
// fields, or six with seconds first; @daily and friends; an optional
// CRON_TZ= prefix), "" for the default, or "off". It returns nil for "off".
func ParseReconcileCron(v string) (cron.Schedule, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		v = DefaultReconcileCron
	case "off":
		return nil, nil
	}
	s, err := cronParser.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("IVSBATCH_RECONCILE_CRON %q: want a cron spec such as %q (minute hour day month weekday) or \"off\": %v",
			v, DefaultReconcileCron, err)
	}
	return s, nil
}

// Schedule is a cron schedule (robfig/cron).
type Schedule = cron.Schedule

// DefaultPurgeCron is when workers run the retention purge unless
// IVSBATCH_PURGE_CRON says otherwise: hourly, at minute 17 (off the
// reconcile's hour), so no data outlives its retention by much more than an
// hour.
const DefaultPurgeCron = "17 * * * *"

// ParsePurgeCron reads IVSBATCH_PURGE_CRON like ParseReconcileCron ("" for
// the default, "off" for none: nil).
func ParsePurgeCron(v string) (cron.Schedule, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		v = DefaultPurgeCron
	case "off":
		return nil, nil
	}
	s, err := cronParser.Parse(v)
	if err != nil {
		return nil, &envconf.Error{Name: "IVSBATCH_PURGE_CRON", Value: v,
			Want: fmt.Sprintf("a cron spec such as %q (minute hour day month weekday) or \"off\" (%v)", DefaultPurgeCron, err)}
	}
	return s, nil
}

// SlotStore records which worker runs which slot of the schedule.
type SlotStore interface {
	ClaimReconcileSlot(ctx context.Context, slot time.Time, worker string) (bool, error)
	SetReconcileSlotRun(ctx context.Context, slot time.Time, runID int64) error
}

// Scheduler runs a job at every slot of a cron schedule, once across the
// whole fleet: every worker computes the same slot times, and the one whose
// claim of a slot lands first in Postgres runs it (a row keyed by the slot).
type Scheduler struct {
	Name     string // the job, in logs (default "reconcile")
	Schedule cron.Schedule
	Store    SlotStore
	Worker   string                                   // this process, stored with the slots it runs
	Run      func(ctx context.Context) (int64, error) // the job; returns the run id
	Log      *slog.Logger
	Now      func() time.Time
}

// Loop runs until ctx ends.
func (s *Scheduler) Loop(ctx context.Context) {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Name == "" {
		s.Name = "reconcile"
	}
	for {
		slot := s.Schedule.Next(s.Now())
		t := time.NewTimer(slot.Sub(s.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.runSlot(ctx, slot)
	}
}

func (s *Scheduler) runSlot(ctx context.Context, slot time.Time) {
	log := s.Log.With("slot", slot.Format(time.RFC3339), "job", s.Name)
	won, err := s.Store.ClaimReconcileSlot(ctx, slot, s.Worker)
	if err != nil {
		log.Warn("scheduled "+s.Name+": claim slot", "err", err)
		return
	}
	if !won {
		return // another worker runs it
	}
	log.Info("scheduled " + s.Name + " starting")
	id, err := s.Run(ctx)
	if err != nil {
		log.Error("scheduled "+s.Name+" failed", "err", err)
		if id == 0 {
			return
		}
	}
	if err := s.Store.SetReconcileSlotRun(ctx, slot, id); err != nil {
		log.Warn("scheduled "+s.Name+": record run", "err", err)
	}
	log.Info("scheduled "+s.Name+" done", "run", id)
}
