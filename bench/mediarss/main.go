// Command mediarss measures the peak memory of one worker-like process
// while many handlers prepare huge CMYK JPEGs at once.
//
//	go run ./bench/mediarss -gen /tmp/cmyk100.jpg          # make the fixture (its own process)
//	go run ./bench/mediarss -in /tmp/cmyk100.jpg -n 64     # prepare it 64× at once, print peak RSS
//
// The fixture is a 10000×10000 (100 MP) Adobe CMYK JPEG made by
// libjpeg-turbo; the measuring process never holds it decoded at full size.
package main

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>
*/
import "C"

import (
	"context"
	"flag"
	"fmt"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"log"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

func main() {
	gen := flag.String("gen", "", "write a 100 MP CMYK JPEG to this path and exit")
	in := flag.String("in", "", "JPEG to prepare")
	n := flag.Int("n", 64, "preparations started at once (handlers)")
	kind := flag.String("kind", "idcard_image", "media kind: idcard_image or face_image")
	flag.Parse()
	if *gen != "" {
		if err := generate(*gen, 10000, 10000); err != nil {
			log.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := config.Media(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	p := media.New(cfg)
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	notes := map[string]int{}
	for range *n {
		wg.Go(func() {
			out, err := p.Prepare(context.Background(), pipeline.MediaKind(*kind), data)
			note := out.Note
			if err != nil {
				note = err.Error()
			}
			mu.Lock()
			notes[note]++
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Printf("input %d bytes, %d preparations at once (%s=%q) in %.1fs\n", len(data), *n, media.ConcurrencyEnv,
		os.Getenv(media.ConcurrencyEnv), time.Since(start).Seconds())
	for note, k := range notes {
		fmt.Printf("  %d× %s\n", k, note)
	}
	fmt.Printf("peak RSS (VmHWM) %s\n", vmHWM())
}

// vmHWM is the process's peak resident set size from /proc/self/status.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

// generate writes a w×h CMYK JPEG (Adobe inverted, as Photoshop writes):
// colour gradients, a little texture.
func generate(path string, w, h int) error {
	px := make([]byte, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 4 * (y*w + x)
			px[i] = byte(255 - x*200/w)
			px[i+1] = byte(255 - y*200/h)
			px[i+2] = byte(200 + (x^y)&31)
			px[i+3] = byte(255 - (x+y)*60/(w+h))
		}
	}
	t := C.tjInitCompress()
	defer C.tjDestroy(t)
	var buf *C.uchar
	var size C.ulong
	if C.tjCompress2(t, (*C.uchar)(unsafe.Pointer(&px[0])), C.int(w), 0, C.int(h), C.TJPF_CMYK, &buf, &size,
		C.TJSAMP_444, 80, 0) != 0 {
		return fmt.Errorf("encode: %s", C.GoString(C.tjGetErrorStr2(t)))
	}
	defer C.tjFree(buf)
	return os.WriteFile(path, C.GoBytes(unsafe.Pointer(buf), C.int(size)), 0o644)
}
