package ivssim_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
	"github.com/ivsbatch/ivsbatch/synth"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// Registry roles of the test people.
const (
	pMain        = 1 // normal
	pOther       = 2 // normal, someone else
	pNonexistent = 3
	pNoPhoto     = 4
	pCrop        = 9 // index ends in 9: fails the crop path
)

func testPeople() []synth.Person {
	people := ivssimtest.People(12)
	people[pNonexistent].Record = synth.RecordNonexistent
	people[pNoPhoto].Record = synth.RecordNoPhoto
	return people
}

func testRegistry() *synth.Registry { return synth.NewRegistry(testPeople()) }

// media caches test pictures and videos across tests.
var media = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

func cached(t testing.TB, key string, make func() []byte) string {
	t.Helper()
	media.Lock()
	defer media.Unlock()
	if v, ok := media.m[key]; ok {
		return v
	}
	v := base64.StdEncoding.EncodeToString(make())
	media.m[key] = v
	return v
}

func face(t testing.TB, person int) string {
	return cached(t, "face"+itoa(person), func() []byte { return ivssimtest.FaceJPEG(t, person) })
}

func card(t testing.TB, kind tag.Kind, person int) string {
	return cached(t, "card"+itoa(int(kind))+"/"+itoa(person), func() []byte { return ivssimtest.CardJPEG(t, kind, person) })
}

func video(t testing.TB, person int, actions ...int) string {
	key := "video" + jsonString([]any{person, actions})
	return cached(t, key, func() []byte { return ivssimtest.Video(t, person, actions, 2*time.Second) })
}

func itoa(i int) string { return jsonString(i) }

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// body wraps item into a request body with meta.uuid uuid.
func body(uuid string, item map[string]any) []byte {
	return []byte(jsonString(map[string]any{"meta": map[string]any{"uuid": uuid}, "data": map[string]any{"req_data": []any{item}}}))
}

// answer is what a raw call got back.
type answer struct {
	status int
	code   string
	body   ivs.ResponseBody
	raw    string
	reqID  string
}

// call posts b to path, signed with the demo AK/SK unless mutate replaces auth.
// mutate runs after signing (it may re-sign or break things).
func call(t testing.TB, base, path string, b []byte, mutate func(*http.Request)) answer {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if err := (ivs.Signer{AK: ivssimtest.AK, SK: ivssimtest.SK}).Sign(r, b, time.Now()); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("post %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw), reqID: resp.Header.Get(ivs.HeaderRequestID)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("decode 200 body %q: %v", raw, err)
		}
		return a
	}
	var eb ivs.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	a.code = eb.ErrorCode
	return a
}

func start(t *testing.T, mod func(*ivssim.Config)) (*ivssim.Server, string) {
	t.Helper()
	cfg := ivssimtest.Config(testRegistry())
	cfg.Quota = -1
	if mod != nil {
		mod(&cfg)
	}
	return ivssimtest.Start(t, cfg)
}

func person(i int) synth.Person { return testPeople()[i] }

// nameFace is a valid name+id+face item for person i showing face f.
func nameFace(t testing.TB, i, f int) map[string]any {
	p := person(i)
	return map[string]any{"verification_name": p.Name, "verification_id": p.IDNumber, "face_image": face(t, f)}
}

func adminPost(t testing.TB, base, path, b string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ivssim.AdminHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func getLedger(t testing.TB, base string) ivssim.Ledger {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/_sim/ledger", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(ivssim.AdminHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l ivssim.Ledger
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l
}
