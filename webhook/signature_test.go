package webhook_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/webhook"
)

// A signature verifies over the exact body and secret within the
// tolerance; a tampered body, another secret, a replay older than five
// minutes and a malformed header are refused, each with its reason.
func TestVerify(t *testing.T) {
	t.Parallel()
	secret, body := []byte("whsec-1"), []byte(`{"id":"evt_1","type":"batch.finished"}`)
	at := time.Unix(1_800_000_000, 0)
	header := webhook.Sign(secret, body, at)
	if err := webhook.Verify(secret, body, header, at.Add(time.Minute), 0); err != nil {
		t.Fatalf("genuine delivery refused: %v", err)
	}
	// Rotation: a header with two v1 entries verifies with either secret.
	both := header + ",v1=" + webhook.Sign([]byte("whsec-2"), body, at)[len("t=1800000000,v1="):]
	if err := webhook.Verify([]byte("whsec-2"), body, both, at, 0); err != nil {
		t.Fatalf("second v1 entry refused: %v", err)
	}
	tampered := []byte(`{"id":"evt_1","type":"batch.finished","x":1}`)
	for _, c := range []struct {
		name   string
		secret []byte
		body   []byte
		header string
		now    time.Time
		want   error
	}{
		{"tampered body", secret, tampered, header, at, webhook.ErrBadSignature},
		{"other secret", []byte("whsec-2"), body, header, at, webhook.ErrBadSignature},
		{"replayed after 6 minutes", secret, body, header, at.Add(6 * time.Minute), webhook.ErrStaleSignature},
		{"from the future", secret, body, header, at.Add(-6 * time.Minute), webhook.ErrStaleSignature},
		{"no header", secret, body, "", at, webhook.ErrNoSignature},
		{"no timestamp", secret, body, "v1=00", at, webhook.ErrNoSignature},
	} {
		if err := webhook.Verify(c.secret, c.body, c.header, c.now, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v; want %v", c.name, err, c.want)
		}
	}
}

// Only public addresses pass when private ones are not allowed.
func TestPublic(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1": false, "10.1.2.3": false, "192.168.0.1": false, "172.16.0.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fc00::1": false, "::ffff:127.0.0.1": false,
		"224.0.0.1": false, "8.8.8.8": true, "2606:4700::1111": true, "::ffff:1.1.1.1": true,
	} {
		if got := webhook.Public(mustAddr(t, addr)); got != want {
			t.Errorf("Public(%s) = %v; want %v", addr, got, want)
		}
	}
}
