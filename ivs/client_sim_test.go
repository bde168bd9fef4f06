package ivs_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/synth"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// simFixture is a simulator with a small registry and media for person 1.
type simFixture struct {
	srv    *ivssim.Server
	url    string
	people []synth.Person
	face   string
	front  string
	back   string
	video  string
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func newSim(t *testing.T, mod func(*ivssim.Config)) *simFixture {
	t.Helper()
	people := ivssimtest.People(4)
	cfg := ivssimtest.Config(synth.NewRegistry(people))
	cfg.Quota = -1
	if mod != nil {
		mod(&cfg)
	}
	srv, url := ivssimtest.Start(t, cfg)
	return &simFixture{
		srv: srv, url: url, people: people,
		face:  b64(ivssimtest.FaceJPEG(t, 1)),
		front: b64(ivssimtest.CardJPEG(t, tag.KindIDCardFront, 1)),
		back:  b64(ivssimtest.CardJPEG(t, tag.KindIDCardBack, 1)),
	}
}

func (f *simFixture) videoB64(t *testing.T) string {
	if f.video == "" {
		f.video = b64(ivssimtest.Video(t, 1, []int{1, 3}, 2*time.Second))
	}
	return f.video
}

// request builds a request of shape for person 1 showing person 1.
func (f *simFixture) request(t *testing.T, shape pipeline.Shape, uuid string) ivs.Request {
	p := f.people[1]
	it := ivs.Item{}
	if shape.UsesText() {
		it.VerificationName, it.VerificationID = p.Name, p.IDNumber
	}
	if shape.UsesCard() {
		it.IDCardImage1, it.IDCardImage2 = f.front, f.back
	}
	if shape.UsesFaceImage() {
		it.FaceImage = f.face
	}
	if shape.UsesVideo() {
		it.Video, it.Actions = f.videoB64(t), "1,3"
	}
	return ivs.Request{Shape: shape, UUID: uuid, Item: it}
}

func akskClient(t *testing.T, url string, opts ...ivs.Option) *ivs.Client {
	t.Helper()
	c, err := ivs.New(append([]ivs.Option{ivs.WithEndpoint(url), ivs.WithAKSK(ivssimtest.AK, ivssimtest.SK)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tokenClient(t *testing.T, url, password string, opts ...ivs.Option) *ivs.Client {
	t.Helper()
	c, err := ivs.New(append([]ivs.Option{ivs.WithEndpoint(url), ivs.WithIAMEndpoint(url),
		ivs.WithPassword(ivs.PasswordAuth{Domain: ivssimtest.Domain, User: ivssimtest.User, Password: password})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientSimAllShapesBothAuths(t *testing.T) {
	t.Parallel()
	f := newSim(t, func(c *ivssim.Config) { c.ProjectID = "proj1" })
	clients := map[string]*ivs.Client{
		"aksk":  akskClient(t, f.url, ivs.WithProjectID("proj1")),
		"token": tokenClient(t, f.url, ivssimtest.Password),
	}
	ctx := context.Background()
	for name, c := range clients {
		for _, shape := range pipeline.Shapes {
			resp, err := c.Do(ctx, f.request(t, shape, name+"-"+string(shape)))
			if err != nil {
				t.Fatalf("%s %s: %v (class %s)", name, shape, err, ivs.Classify(err))
			}
			if ivs.Classify(err) != pipeline.ClassVerdict || resp.Result.VerificationCode != 1000 || resp.RequestID == "" {
				t.Errorf("%s %s: %+v", name, shape, resp.Result)
			}
			if shape.UsesCard() && (resp.Result.IDCardResult == nil || resp.Result.IDCardResult.Number != f.people[1].IDNumber) {
				t.Errorf("%s %s: idcard_result %+v", name, shape, resp.Result.IDCardResult)
			}
			if shape.UsesVideo() && (resp.Result.VideoResult == nil || !resp.Result.VideoResult.Alive) {
				t.Errorf("%s %s: video_result %+v", name, shape, resp.Result.VideoResult)
			}
		}
	}
	if l := f.srv.Ledger(); l.TotalBilled != 12 || len(l.Duplicates) != 0 || l.TokensIssued != 1 {
		t.Errorf("ledger: billed %d, duplicates %v, tokens %d", l.TotalBilled, l.Duplicates, l.TokensIssued)
	}
}

func TestClientSimTokenExpiryMidUse(t *testing.T) {
	t.Parallel()
	f := newSim(t, nil)
	c := tokenClient(t, f.url, ivssimtest.Password)
	ctx := context.Background()
	req := f.request(t, pipeline.ShapeName, "tok")
	if _, err := c.Do(ctx, req); err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireTokens()
	_, err := c.Do(ctx, req)
	if ivs.Classify(err) != pipeline.ClassAuthRefresh || !ivs.HasCode(err, "APIG.0307") {
		t.Fatalf("after expiry: %v (class %s)", err, ivs.Classify(err))
	}
	if err := c.RefreshAuth(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, req); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
	if n := f.srv.Ledger().TokensIssued; n != 2 {
		t.Errorf("tokens issued %d, want 2", n)
	}
}

func TestClientSimOutcomeClasses(t *testing.T) {
	t.Parallel()
	fixed := time.Now()
	cases := []struct {
		name  string
		mod   func(*ivssim.Config)
		setup func(f *simFixture)
		auth  string // "aksk" (default), "token", "badsk", "badpw"
		req   func(t *testing.T, f *simFixture) ivs.Request
		calls int // the last call's error is checked
		class pipeline.Class
		code  string
	}{
		{name: "verdict 2001", req: func(t *testing.T, f *simFixture) ivs.Request {
			r := f.request(t, pipeline.ShapeName, "v")
			r.Item.VerificationName = f.people[2].Name
			return r
		}, class: pipeline.ClassVerdict},
		{name: "input error", req: func(t *testing.T, f *simFixture) ivs.Request {
			r := f.request(t, pipeline.ShapeCard, "in")
			r.Item.IDCardImage1 = b64(ivssimtest.JPEG(t, ivssimtest.Image{W: 1000, H: 630, Quality: 85, Noise: 24}))
			return r
		}, class: pipeline.ClassInputError, code: "IVS.0007"},
		{name: "transient 500", mod: func(c *ivssim.Config) { c.Faults.Rate500 = 1 }, class: pipeline.ClassTransient, code: "IVS.0101"},
		{name: "transient 504", mod: func(c *ivssim.Config) { c.Faults.Rate504 = 1 }, class: pipeline.ClassTransient, code: "APIG.0201"},
		{name: "throttled", mod: func(c *ivssim.Config) { c.Quota = 1; c.Now = func() time.Time { return fixed } }, calls: 2, class: pipeline.ClassThrottled, code: "APIG.0308"},
		{name: "auth refresh token expired", auth: "token", mod: func(c *ivssim.Config) { c.Faults.RateTokenExpire = 1 }, class: pipeline.ClassAuthRefresh, code: "APIG.0307"},
		{name: "auth refresh bad signature", auth: "badsk", class: pipeline.ClassAuthRefresh, code: "APIG.0301"},
		{name: "account stop bad password", auth: "badpw", class: pipeline.ClassAccountStop},
		{name: "account stop frozen", setup: func(f *simFixture) { f.srv.SetAccountState("IVS.0014") }, class: pipeline.ClassAccountStop, code: "IVS.0014"},
		{name: "account stop not subscribed", setup: func(f *simFixture) { f.srv.SetAccountState("IVS.0015") }, class: pipeline.ClassAccountStop, code: "IVS.0015"},
		{name: "ambiguous slow", mod: func(c *ivssim.Config) { c.Faults = ivssim.Faults{RateSlow: 1, SlowDelay: 2 * time.Second} }, class: pipeline.ClassAmbiguous},
		{name: "ambiguous drop", mod: func(c *ivssim.Config) { c.Faults.RateDrop = 1 }, class: pipeline.ClassAmbiguous},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSim(t, tc.mod)
			if tc.setup != nil {
				tc.setup(f)
			}
			var c *ivs.Client
			switch tc.auth {
			case "token":
				c = tokenClient(t, f.url, ivssimtest.Password)
			case "badpw":
				c = tokenClient(t, f.url, "wrong")
			case "badsk":
				c = akskClient(t, f.url, ivs.WithAKSK(ivssimtest.AK, "wrong-secret"))
			default:
				// A short timeout only where the simulator is told to be
				// slower than it; elsewhere a loaded machine's slowness
				// must not read as a timeout.
				timeout := 30 * time.Second
				if tc.class == pipeline.ClassAmbiguous {
					timeout = time.Second
				}
				c = akskClient(t, f.url, ivs.WithTimeout(timeout))
			}
			req := f.request(t, pipeline.ShapeNameFaceImage, "c-"+tc.name)
			if tc.req != nil {
				req = tc.req(t, f)
			}
			var err error
			for range max(tc.calls, 1) {
				_, err = c.Do(context.Background(), req)
			}
			if got := ivs.Classify(err); got != tc.class {
				t.Fatalf("class %s, want %s (err %v)", got, tc.class, err)
			}
			if tc.code != "" && !ivs.HasCode(err, tc.code) {
				t.Errorf("code %q, want %s", ivs.ErrorCode(err), tc.code)
			}
			if tc.class == pipeline.ClassAmbiguous {
				var te *ivs.TransportError
				if !errors.As(err, &te) || !te.Sent {
					t.Errorf("want a TransportError with Sent, got %#v", err)
				}
			}
		})
	}
}
