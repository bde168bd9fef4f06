// Package ivssimtest starts the IVS simulator in tests and makes the tagged
// people, images and videos it recognises, without depending on the synth
// media makers.
package ivssimtest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/synth"
)

// Demo credentials (not secrets) accepted by Config.
const (
	AK       = "SIMAK0000000000000000"
	SK       = "sim-secret-key"
	Domain   = "simdomain"
	User     = "simuser"
	Password = "sim-password"
)

// Config returns a simulator Config accepting AK/SK and the demo IAM user,
// with reg as the authority and the default quota.
func Config(reg *synth.Registry) ivssim.Config {
	return ivssim.Config{
		Credentials: []ivssim.Credential{{AK: AK, SK: SK}},
		IAMUsers:    []ivssim.IAMUser{{Domain: Domain, User: User, Password: Password}},
		Registry:    reg,
	}
}

// Start runs a simulator for cfg on a loopback httptest server and returns it
// with its base URL. Both are closed in t.Cleanup.
func Start(t testing.TB, cfg ivssim.Config) (*ivssim.Server, string) {
	t.Helper()
	s, err := ivssim.New(cfg)
	if err != nil {
		t.Fatalf("ivssim.New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts.URL
}

var (
	surnames = []string{"张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴"}
	given    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰"}
)

// People returns n deterministic people with valid 18-character id numbers
// (Index 0..n-1, Record normal). Change Record on the copies as needed.
func People(n int) []synth.Person {
	out := make([]synth.Person, n)
	for i := range n {
		body := fmt.Sprintf("110101%04d%02d%02d%03d", 1960+i%40, 1+i%12, 1+i%28, 100+i%900)
		sex := "男"
		if i%2 == 1 {
			sex = "女"
		}
		out[i] = synth.Person{
			Index: i, Name: surnames[i%len(surnames)] + given[i%len(given)] + given[(i/len(given))%len(given)],
			IDNumber: body + string(CheckChar(body)), Sex: sex,
			Birth: body[6:10] + "-" + body[10:12] + "-" + body[12:14], Ethnicity: "汉",
			Address: "北京市东城区测试路" + fmt.Sprint(i) + "号", Issue: "北京市公安局东城分局",
			ValidFrom: "2020-01-01", ValidTo: "2040-01-01",
		}
	}
	return out
}

// CheckChar is the GB 11643 check character of the first 17 digits.
func CheckChar(digits17 string) byte {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(digits17[i]-'0') * w[i]
	}
	return "10X98765432"[sum%11]
}

// Old15 returns the 15-character form of an 18-character id born in 19xx.
func Old15(id18 string) string {
	if !strings.HasPrefix(id18[6:], "19") {
		panic("Old15: not born in 19xx")
	}
	return id18[:6] + id18[8:17]
}
