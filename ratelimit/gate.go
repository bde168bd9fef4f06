package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Gate holds each call until the slot Wait reserved for it, so that calls
// reach IVS as evenly spaced as their slots whatever happened between Wait
// and the send (a call that comes more than MaxLate after its slot takes a
// fresh one). From now on Wait returns Lead before the slot, for calls it
// can name (Config.CallKey); other calls go out as soon as they are sent.
// Wrap the client that the pipeline calls right after Wait.
func (l *Limiter) Gate(v pipeline.Verifier) pipeline.Verifier {
	if l.cfg.PerSecond < 0 {
		return v
	}
	l.gated.Store(true)
	return &gate{l: l, v: v}
}

type gate struct {
	l *Limiter
	v pipeline.Verifier
}

func (g *gate) Verify(ctx context.Context, call pipeline.Call) (*pipeline.Reply, error) {
	if key, ok := g.l.cfg.CallKey(ctx); ok {
		if at, ok := g.l.takeSlot(key, call.Shape.Endpoint()); ok {
			if err := g.l.await(ctx, call.Shape.Endpoint(), at); err != nil {
				// Nothing was sent: a transient failure, not an ambiguous one.
				return nil, ivs.CallError(&ivs.TransportError{Op: "wait for the send slot", Err: err,
					Timeout: errors.Is(err, context.DeadlineExceeded)})
			}
		}
	}
	return g.v.Verify(ctx, call)
}

func (g *gate) RefreshAuth(ctx context.Context) error { return g.v.RefreshAuth(ctx) }

// staleSlot is how long a slot is kept for a call that never came to the
// gate (it released its reservation instead of sending).
const staleSlot = time.Minute

// keepSlot remembers the slot reserved for a call, dropping stale ones.
func (l *Limiter) keepSlot(key string, ep pipeline.Endpoint, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, t := range l.slots {
		if time.Since(t) > staleSlot {
			delete(l.slots, k)
		}
	}
	l.slots[string(ep)+" "+key] = at
}

// takeSlot returns and forgets the slot reserved for a call.
func (l *Limiter) takeSlot(key string, ep pipeline.Endpoint) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := string(ep) + " " + key
	at, ok := l.slots[k]
	delete(l.slots, k)
	return at, ok
}
