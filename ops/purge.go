package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/store"
)

// PictureDeleter deletes a kept liveness picture's object (worker.PictureBucket).
type PictureDeleter interface {
	DeletePicture(ctx context.Context, ref string) error
}

// PurgeOptions configure Purge. Zero values take defaults.
type PurgeOptions struct {
	Policy   retention.Policy // default retention.Default()
	DryRun   bool
	Chunk    int            // records per transaction (default 1000)
	Pause    time.Duration  // between chunks, to leave the database to the workers (default none)
	Pictures PictureDeleter // deletes kept pictures; nil: records with one keep their picture and verdict
	Operator string
	Now      func() time.Time // the clock retention is counted on (default time.Now)
	Log      *slog.Logger
	// Observe, when set, is called with each kind's count as it completes
	// (the worker's ivsbatch_purged_records_total).
	Observe func(kind retention.Kind, records int)
}

// PurgeKind is what a purge did (or would do) to one kind of data.
type PurgeKind struct {
	Kind      retention.Kind `json:"kind"`
	Retention string         `json:"retention"`
	Cutoff    time.Time      `json:"cutoff,omitzero"` // outcomes before it are purged (zero: kept forever)
	Records   int            `json:"records"`         // records changed (dry run: that would change)
	Pictures  int            `json:"pictures,omitempty"`
	Chunks    int            `json:"chunks,omitempty"`
	Oldest    time.Time      `json:"oldest,omitzero"` // dry run: the oldest outcome due
}

// PurgeSummary is one run of Purge, stored in purge_runs (not dry runs).
type PurgeSummary struct {
	RunID     int64       `json:"run_id,omitempty"`
	StartedAt time.Time   `json:"started_at"`
	DryRun    bool        `json:"dry_run"`
	Kinds     []PurgeKind `json:"kinds"`
	Complete  bool        `json:"complete"`
	Error     string      `json:"error,omitempty"`
}

// Purge removes every kind of personal data whose retention has passed
// (package retention; see store.PurgeChunk for how a chunk works), kind by
// kind in retention.Kinds order, in chunks. Kept pictures' objects are
// deleted before their references; a picture that cannot be deleted stops
// the run (its record and verdict stay, and the next run tries again). A
// real run is stored with its counts in purge_runs and the audit log, even
// when it failed midway; a dry run counts and changes nothing.
func Purge(ctx context.Context, st *store.Store, o PurgeOptions) (PurgeSummary, error) {
	if o.Policy == nil {
		o.Policy = retention.Default()
	}
	o.Chunk = cmp.Or(o.Chunk, 1000)
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Log = cmp.Or(o.Log, slog.Default())
	now := o.Now()
	sum := PurgeSummary{StartedAt: now, DryRun: o.DryRun}
	if !o.DryRun {
		release, err := st.LockPurge(ctx)
		if err != nil {
			return sum, err
		}
		defer release()
	}
	var err error
	for _, k := range retention.Kinds {
		pk := PurgeKind{Kind: k, Retention: retention.FormatDuration(o.Policy[k]), Cutoff: o.Policy.Cutoff(k, now)}
		if !pk.Cutoff.IsZero() {
			if o.DryRun {
				err = purgeDue(ctx, st, &pk)
			} else {
				err = purgeKind(ctx, st, o, &pk)
				if o.Observe != nil {
					o.Observe(pk.Kind, pk.Records)
				}
			}
		}
		sum.Kinds = append(sum.Kinds, pk)
		if err != nil {
			break
		}
	}
	sum.Complete = err == nil
	if err != nil {
		sum.Error = err.Error()
	}
	if o.DryRun {
		return sum, err
	}
	// The run is stored even when ctx was cancelled midway.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	id, serr := st.SavePurgeRun(sctx, now, sum.Complete, sum, purgeAudit(o, sum))
	sum.RunID = id
	return sum, errors.Join(err, serr)
}

// purgeAudit is the run's audit entry: the policy and the counts, never a
// record's data.
func purgeAudit(o PurgeOptions, sum PurgeSummary) store.AuditEntry {
	counts := map[string]any{}
	for _, k := range sum.Kinds {
		counts[string(k.Kind)] = k.Records
	}
	res := map[string]any{"complete": sum.Complete, "records": counts}
	if sum.Error != "" {
		res["error"] = sum.Error
	}
	return store.AuditEntry{Operator: cmp.Or(o.Operator, "unknown"), Command: "purge",
		Args: map[string]any{"policy": o.Policy.String(), "chunk": o.Chunk}, Result: res}
}

func purgeDue(ctx context.Context, st *store.Store, pk *PurgeKind) error {
	mark, err := st.GetPurgeMark(ctx, pk.Kind)
	if err != nil {
		return err
	}
	pk.Records, pk.Oldest, err = st.PurgeDue(ctx, pk.Kind, mark, pk.Cutoff)
	return err
}

func purgeKind(ctx context.Context, st *store.Store, o PurgeOptions, pk *PurgeKind) error {
	mark, err := st.GetPurgeMark(ctx, pk.Kind)
	if err != nil {
		return err
	}
	for {
		chunk, err := st.PurgeCandidates(ctx, mark, pk.Cutoff, o.Chunk)
		if err != nil || len(chunk) == 0 {
			return err
		}
		var deleted []string
		if pk.Kind == retention.Pictures {
			if deleted, err = deletePictures(ctx, o.Pictures, chunk); err != nil {
				return err
			}
			pk.Pictures += len(deleted)
		}
		n, err := st.PurgeChunk(ctx, pk.Kind, chunk, pk.Cutoff, deleted)
		if err != nil {
			return err
		}
		pk.Records += n
		pk.Chunks++
		last := chunk[len(chunk)-1]
		mark = store.PurgeMark{FinishedAt: last.FinishedAt, RecordID: last.ID}
		if len(chunk) < o.Chunk {
			return nil
		}
		if o.Pause > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(o.Pause):
			}
		}
	}
}

// deletePictures deletes the chunk's kept pictures and returns their
// references. Without a deleter, a chunk holding a picture stops the purge:
// the picture would outlive its retention.
func deletePictures(ctx context.Context, d PictureDeleter, chunk []store.PurgeCandidate) ([]string, error) {
	var deleted []string
	for _, c := range chunk {
		if c.PictureRef == "" {
			continue
		}
		if d == nil {
			return deleted, fmt.Errorf("record %d keeps a liveness picture past its retention and no picture store is configured (IVSBATCH_KEEP_PICTURES)", c.ID)
		}
		if err := d.DeletePicture(ctx, c.PictureRef); err != nil {
			return deleted, fmt.Errorf("delete the kept picture of record %d: %w", c.ID, err)
		}
		deleted = append(deleted, c.PictureRef)
	}
	return deleted, nil
}

// PrintPurge writes what a purge did (or would do), kind by kind.
func PrintPurge(w io.Writer, s PurgeSummary) {
	verb := "purged"
	if s.DryRun {
		verb = "would purge"
	}
	for _, k := range s.Kinds {
		if k.Cutoff.IsZero() {
			fmt.Fprintf(w, "%-9s kept forever\n", k.Kind)
			continue
		}
		fmt.Fprintf(w, "%-9s retention %-6s outcomes before %s: %s %d records", k.Kind, k.Retention,
			k.Cutoff.UTC().Format(time.RFC3339), verb, k.Records)
		if k.Pictures > 0 {
			fmt.Fprintf(w, " (%d pictures deleted)", k.Pictures)
		}
		if s.DryRun && !k.Oldest.IsZero() {
			fmt.Fprintf(w, ", the oldest finished %s", k.Oldest.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	if s.RunID != 0 {
		fmt.Fprintf(w, "purge run %d stored (purge_runs, audit_log)\n", s.RunID)
	}
	if !s.Complete {
		fmt.Fprintf(w, "incomplete: %s\n", s.Error)
	}
}

// purgeSlots is the purge schedule's slots in Postgres, for a Scheduler.
type purgeSlots struct{ st *store.Store }

func (p purgeSlots) ClaimReconcileSlot(ctx context.Context, slot time.Time, worker string) (bool, error) {
	return p.st.ClaimPurgeSlot(ctx, slot, worker)
}

func (p purgeSlots) SetReconcileSlotRun(ctx context.Context, slot time.Time, runID int64) error {
	return p.st.SetPurgeSlotRun(ctx, slot, runID)
}

// PurgeScheduler runs Purge at every slot of spec (IVSBATCH_PURGE_CRON),
// once across the fleet like the nightly reconcile; worker names this
// process. o.Now is the scheduler's clock too.
func PurgeScheduler(spec Schedule, st *store.Store, worker string, o PurgeOptions) *Scheduler {
	o.Operator = "schedule:" + worker
	return &Scheduler{Name: "purge", Schedule: spec, Store: purgeSlots{st}, Worker: worker, Log: o.Log, Now: o.Now,
		Run: func(ctx context.Context) (int64, error) {
			sum, err := Purge(ctx, st, o)
			return sum.RunID, err
		}}
}
