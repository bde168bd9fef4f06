package synth

import (
	"fmt"
	"math/rand/v2"

	"github.com/ivsbatch/ivsbatch/identity"
)

var (
	surnames = []string{"张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "欧阳", "司马"}
	given    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "䶮", "堃"}
	regions  = []struct{ code, addr, issue string }{
		{"110101", "北京市东城区", "北京市公安局东城分局"},
		{"310104", "上海市徐汇区", "上海市公安局徐汇分局"},
		{"440106", "广东省广州市天河区", "广州市公安局天河分局"},
		{"510107", "四川省成都市武侯区", "成都市公安局武侯区分局"},
		{"650102", "新疆维吾尔自治区乌鲁木齐市天山区", "乌鲁木齐市公安局天山区分局"},
	}
	uyghurNames = []string{"买买提·艾力", "阿依古丽·吐尔逊", "艾合买提·买买提"}
)

// GeneratePeople returns n deterministic synthetic people for seed, with
// Index 0..n-1 and Record "" (normal). Id numbers are valid GB 11643 numbers
// with distinct sequences; names are Han (some with Extension-A characters,
// some minority names with the middle dot).
func GeneratePeople(seed int64, n int) []Person {
	r := rand.New(rand.NewPCG(uint64(seed), 0x1d5))
	out := make([]Person, n)
	for i := range n {
		reg := regions[r.IntN(len(regions))]
		year, month, day := 1950+r.IntN(55), 1+r.IntN(12), 1+r.IntN(28)
		// The sequence carries i so that numbers never collide within a run.
		seq := i % 1000
		sexDigitOdd := seq%2 == 1
		body := fmt.Sprintf("%s%04d%02d%02d%03d", reg.code, year, month, day, seq)
		check, err := identity.CheckChar(body)
		if err != nil {
			panic(err) // body is 17 ASCII digits by construction
		}
		var name string
		if reg.code == "650102" && i%3 == 0 {
			name = uyghurNames[r.IntN(len(uyghurNames))]
		} else {
			name = surnames[r.IntN(len(surnames))] + given[r.IntN(len(given))]
			if r.IntN(2) == 0 {
				name += given[r.IntN(len(given))]
			}
		}
		sex := "女"
		if sexDigitOdd {
			sex = "男"
		}
		out[i] = Person{
			Index: i, Name: name, IDNumber: body + string(check), Sex: sex,
			Birth:     fmt.Sprintf("%04d-%02d-%02d", year, month, day),
			Ethnicity: "汉", Address: fmt.Sprintf("%s测试路%d号", reg.addr, i+1), Issue: reg.issue,
			ValidFrom: "2020-01-01", ValidTo: "2040-01-01",
		}
		if name != "" && len([]rune(name)) > 4 {
			out[i].Ethnicity = "维吾尔"
		}
	}
	// Year/month/day are random, so two people can share region, date and
	// seq only if i%1000 repeats; disambiguate by bumping the sequence.
	seen := map[string]bool{}
	for i := range out {
		for seen[out[i].IDNumber] {
			out[i].IDNumber = bumpSequence(out[i].IDNumber)
		}
		seen[out[i].IDNumber] = true
	}
	return out
}

func bumpSequence(id string) string {
	var seq int
	fmt.Sscanf(id[14:17], "%03d", &seq)
	body := fmt.Sprintf("%s%03d", id[:14], (seq+2)%1000) // keep the sex digit's parity
	check, _ := identity.CheckChar(body)
	return body + string(check)
}
