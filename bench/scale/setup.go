package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/synth"
)

// keyEnv holds random keys for this run's personal data.
func keyEnv() []string {
	key, index := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(index)
	return []string{"IVSBATCH_PII_KEYS=bench:" + base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY=" + base64.StdEncoding.EncodeToString(index)}
}

// buildBinaries builds the commands the benchmark runs as processes.
func buildBinaries(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/enqueue", "./cmd/worker", "./cmd/ops", "./cmd/ivs-sim")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build (run from the repository root): %w", err)
	}
	return nil
}

// writeManifest writes n rows: two-factor records (name + id number) and,
// one in imageEvery, name + id number + face image (a few synthetic faces
// encoded as JPEG, file:// references). Id numbers are valid GB 11643
// numbers, all distinct, so nothing is answered by dedup.
func writeManifest(path, mediaDir string, n, imageEvery int) error {
	var faces []string
	for i, p := range synth.GeneratePeople(7, 4) {
		b, err := synth.FaceJPEG(p, synth.ImageOptions{})
		if err != nil {
			return fmt.Errorf("face image: %w", err)
		}
		f := filepath.Join(mediaDir, fmt.Sprintf("face%d.jpg", i))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return err
		}
		faces = append(faces, "file://"+filepath.ToSlash(f))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "ref,shape,name,id_number,face_image")
	given := []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"}
	family := []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"}
	birth0 := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		d := birth0.AddDate(0, 0, i/999)
		first17 := fmt.Sprintf("110101%s%03d", d.Format("20060102"), 1+i%999)
		c, err := identity.CheckChar(first17)
		if err != nil {
			return err
		}
		name := family[i%len(family)] + given[(i/len(family))%len(given)] + given[(i/7)%len(given)]
		if imageEvery > 0 && i%imageEvery == 0 {
			fmt.Fprintf(w, "r%d,name_face_image,%s,%s%c,%s\n", i, name, first17, c, faces[i%len(faces)])
		} else {
			fmt.Fprintf(w, "r%d,name,%s,%s%c,\n", i, name, first17, c)
		}
	}
	return w.Flush()
}
