package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/media/mediatest"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// A person whose liveness video lies outside the media root is not
// impersonated by a record whose "video" is an HLS playlist pointing at it
// (with a file:// URL or a plain path) under a video's name: ops prevalidate
// and the worker both end the record media.not_video, IVS is never called,
// and the victim's files are never opened (the kernel's inotify says so).
func TestPlaylistDisguisedAsVideoRejected(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	var victimVideo []byte
	for _, r := range h.pop.Rows {
		if r.Video != "" {
			victimVideo = h.pop.Objects[r.Video]
			break
		}
	}
	if victimVideo == nil {
		t.Fatal("the population has no video")
	}
	// The victim's video (made by ffmpeg), and its MPEG-TS and fragmented
	// MP4 segments written by ffmpeg's HLS muxer, outside the media root;
	// the playlists it writes point at them.
	victims, scratch := t.TempDir(), t.TempDir()
	liveness := filepath.Join(victims, "liveness.mp4")
	if err := os.WriteFile(liveness, victimVideo, 0o600); err != nil {
		t.Fatal(err)
	}
	hls := func(playlist string, args ...string) []byte {
		t.Helper()
		full := append([]string{"-nostdin", "-v", "error", "-i", liveness, "-c", "copy", "-f", "hls"}, args...)
		path := filepath.Join(scratch, playlist)
		if out, err := exec.Command("ffmpeg", append(full, "-y", path)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg hls: %v\n%s", err, out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	fileURL := hls("a.m3u8", "-hls_segment_filename", filepath.Join(victims, "seg%d.ts"), "-hls_base_url", "file://"+victims+"/")
	plainPath := hls("b.m3u8", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", filepath.Join(victims, "frag%d.m4s"), "-hls_base_url", victims+"/")
	if !strings.Contains(string(fileURL), "file://"+victims) || !strings.Contains(string(plainPath), victims+"/frag") {
		t.Fatalf("the playlists do not point at the victim:\n%s\n%s", fileURL, plainPath)
	}

	person := h.pop.People()[0]
	var rows []e2e.Row
	for name, data := range map[string][]byte{"face.mp4": fileURL, "face.mov": plainPath, "face.webm": fileURL} {
		if err := os.WriteFile(filepath.Join(h.media, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, e2e.Row{Ref: "playlist-as-" + strings.TrimPrefix(filepath.Ext(name), "."), Shape: pipeline.ShapeNameVideo,
			Name: person.Name, IDNumber: person.IDNumber, Video: name, Actions: "1,2"})
	}
	manifest := filepath.Join(scratch, "hostile.csv")
	if err := os.WriteFile(manifest, e2e.CSV(rows, "file://"+h.media+"/"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Submit(h.ctx, h.st, ingest.ObjectOrFile(h.objs), manifest,
		ingest.SubmitOptions{Name: t.Name(), Logger: h.log, CheckRef: h.objs.CheckRef})
	if err != nil || sum.Valid != len(rows) {
		t.Fatalf("submit: %+v %v", sum, err)
	}
	watch := mediatest.WatchOpens(t, victims)

	// ops prevalidate, built as the command builds it (internal/cmdenv).
	env, err := cmdenv.Open(h.ctx, cmdenv.Config{Needs: cmdenv.Keys | cmdenv.Objects | cmdenv.Preparer,
		DatabaseURL: h.dbURL, Keyring: h.st.Keyring(), Objects: h.objCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	proc, err := env.Prevalidator()
	if err != nil {
		t.Fatal(err)
	}
	pre, err := ops.Prevalidate(h.ctx, env.Store, proc, sum.BatchID, 0, nil)
	if err != nil || pre.ByCode[media.CodeNotVideo] != len(rows) {
		t.Fatalf("prevalidate: %+v, %v; want every record %s", pre, err, media.CodeNotVideo)
	}

	h.startWorkers(workerOpts{})
	h.wait(sum.BatchID, 3*time.Minute)
	recs, err := h.st.ListRecords(h.ctx, sum.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Status != pipeline.StatusRejected || r.LastErrorCode != media.CodeNotVideo ||
			!strings.Contains(r.LastErrorMessage, "HLS playlist") {
			t.Errorf("%s: %s %s %q, want rejected %s", r.Ref, r.Status, r.LastErrorCode, r.LastErrorMessage, media.CodeNotVideo)
		}
	}
	if l := h.sim.Ledger(); l.Requests != 0 {
		t.Errorf("IVS was called %d times", l.Requests)
	}
	if seen := watch.Seen(t); len(seen) > 0 {
		t.Errorf("files outside the media root were opened: %q", seen)
	}
}
