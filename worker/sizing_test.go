package worker

import "testing"

func TestDefaultSizing(t *testing.T) {
	for _, c := range []struct {
		quota          float64
		handlers, win  int
		conns1, conns2 int32
	}{
		{-1, 320, 1280, 18, 20}, // quota off: the benchmark's best on two cores
		{0, 320, 1280, 18, 20},
		{0.5, 16, 200, 8, 9},
		{2, 16, 200, 8, 9},
		{10, 20, 200, 8, 9},
		{50, 100, 400, 11, 14},
		{53.4, 107, 428, 11, 14},
		{160, 320, 1280, 18, 20},
		{200, 320, 1280, 18, 20},
		{1e9, 320, 1280, 18, 20},
	} {
		h := DefaultConcurrency(c.quota)
		if h != c.handlers {
			t.Errorf("DefaultConcurrency(%g) = %d, want %d", c.quota, h, c.handlers)
		}
		if w := DefaultWindow(h); w != c.win {
			t.Errorf("DefaultWindow(%d) = %d, want %d", h, w, c.win)
		}
		if n := PoolConns(h, 1); n != c.conns1 {
			t.Errorf("PoolConns(%d, 1) = %d, want %d", h, n, c.conns1)
		}
		if n := PoolConns(h, 2); n != c.conns2 {
			t.Errorf("PoolConns(%d, 2) = %d, want %d", h, n, c.conns2)
		}
	}
	// Three workers at the ceiling and the operators' commands fit
	// Postgres's default max_connections (100).
	if 3*MaxPoolConns > 100-25 {
		t.Errorf("MaxPoolConns %d: three workers leave fewer than 25 of Postgres's default 100 connections", MaxPoolConns)
	}
	if PoolConns(1e6, 2) != MaxPoolConns || PoolConns(0, 0) != MinPoolConns {
		t.Errorf("PoolConns outside [%d, %d]: %d, %d", MinPoolConns, MaxPoolConns, PoolConns(1e6, 2), PoolConns(0, 0))
	}
}
