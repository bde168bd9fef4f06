package ivs_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// TestSignerPublishedVectors checks the two vectors published with the SDK.
func TestSignerPublishedVectors(t *testing.T) {
	t.Parallel()
	now := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name, method, url, contentType, body, want string
	}{
		{"get", http.MethodGet, "http://example.com/path?limit=1", "", "",
			"5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"},
		{"post", http.MethodPost, "http://example.com/path?key=value", "application/json", "{\"Name\":\"test\",\"Id\":1}\n",
			"cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := http.NewRequest(tt.method, tt.url, bytes.NewReader([]byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			r.Header["TEST_UNDERSCORE"] = []string{"TEST_VALUE"}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			s := ivs.Signer{AK: "AccessKey", SK: "SecretKey"}
			if err := s.Sign(r, []byte(tt.body), now); err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("X-Sdk-Date"); got != "20060102T150405Z" {
				t.Errorf("X-Sdk-Date = %q", got)
			}
			want := "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=" + tt.want
			if got := r.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestSignerProjectIDSignedAndVerifiable(t *testing.T) {
	t.Parallel()
	body := []byte(`{"meta":{"uuid":"u"}}`)
	r, err := http.NewRequest(http.MethodPost, "https://ivs.cn-north-4.myhuaweicloud.com/v2.0/ivs-standard", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Enterprise-Project-Id", "eps-1")
	s := ivs.Signer{AK: "ak1", SK: "sk1", ProjectID: "proj-9"}
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("CST", 8*3600))
	if err := s.Sign(r, body, now); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("X-Project-Id"); got != "proj-9" {
		t.Errorf("X-Project-Id = %q", got)
	}
	if got := r.Header.Get("X-Sdk-Date"); got != "20250303T210607Z" {
		t.Errorf("X-Sdk-Date = %q, want UTC", got)
	}
	ak, signed, sig, err := ivs.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if ak != "ak1" {
		t.Errorf("ak = %q", ak)
	}
	if diff := cmp.Diff([]string{"enterprise-project-id", "x-project-id", "x-sdk-date"}, signed); diff != "" {
		t.Errorf("signed headers (-want +got):\n%s", diff)
	}
	// The verifier recomputes from what it received.
	canon := ivs.CanonicalRequest(r, body, signed)
	if !strings.HasPrefix(canon, "POST\n/v2.0/ivs-standard/\n\n") {
		t.Errorf("canonical request starts %q", canon[:40])
	}
	want := ivs.SignatureHex("sk1", ivs.StringToSign(ivs.SignAlgorithm, r.Header.Get("X-Sdk-Date"), canon))
	if sig != want {
		t.Errorf("signature %s, recomputed %s", sig, want)
	}
	// A changed body changes the signature.
	canon2 := ivs.CanonicalRequest(r, append(body, ' '), signed)
	if ivs.SignatureHex("sk1", ivs.StringToSign(ivs.SignAlgorithm, r.Header.Get("X-Sdk-Date"), canon2)) == sig {
		t.Error("signature does not cover the body")
	}
}

func TestCanonicalRequestEscaping(t *testing.T) {
	t.Parallel()
	r, err := http.NewRequest(http.MethodGet, "http://h/a%20b/c~d.e?b=2&a=y&a=x&sp=a+b", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ivs.CanonicalRequest(r, nil, nil)
	want := "GET\n/a%20b/c~d.e/\na=x&a=y&b=2&sp=a%20b\n\n\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Errorf("canonical:\n got %q\nwant %q", got, want)
	}
}

func TestSignedHeaderNames(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h["Content-Type-Extra"] = []string{"x"}
	h["TEST_UNDERSCORE"] = []string{"v"}
	h.Set("X-Sdk-Date", "d")
	h.Set("Enterprise-Project-Id", "e")
	h.Set("X-Auth-Token", "t")
	got := ivs.SignedHeaderNames(h)
	want := []string{"enterprise-project-id", "x-auth-token", "x-sdk-date"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	v := ivs.AuthorizationValue("AK", []string{"a", "b"}, "abc")
	ak, sh, sig, err := ivs.ParseAuthorization(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"AK", []string{"a", "b"}, "abc"}, []any{ak, sh, sig}); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	bad := []string{
		"",
		"AWS4-HMAC-SHA256 Access=AK, SignedHeaders=a, Signature=x",
		"SDK-HMAC-SHA256 Access=AK, SignedHeaders=a",
		"SDK-HMAC-SHA256 Access=AK, SignedHeaders=a, Signature=",
		"SDK-HMAC-SHA256 Access=AK, Bogus, Signature=x",
		"SDK-HMAC-SHA256 Access=AK, SignedHeaders=a, Signature=x, Extra=1",
	}
	for _, b := range bad {
		if _, _, _, err := ivs.ParseAuthorization(b); err == nil {
			t.Errorf("ParseAuthorization(%q) succeeded", b)
		}
	}
}
