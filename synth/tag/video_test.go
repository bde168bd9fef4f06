package tag_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

func TestVideoComment(t *testing.T) {
	t.Parallel()
	if got := tag.VideoComment(12, []int{1, 3}); got != "ivssim:person=12;actions=1,3" {
		t.Fatalf("VideoComment = %q", got)
	}
	for _, tc := range []struct {
		person  int
		actions []int
	}{{0, []int{}}, {7, []int{5}}, {16777215, []int{1, 2, 3, 4, 5}}} {
		p, a, ok := tag.ParseVideoComment(tag.VideoComment(tc.person, tc.actions))
		if !ok || p != tc.person || !cmp.Equal(a, tc.actions) {
			t.Errorf("round trip %v %v → %v %v %v", tc.person, tc.actions, p, a, ok)
		}
	}
}

func TestParseVideoComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		person  int
		actions []int
		ok      bool
	}{
		{"ivssim:person=12;actions=1,3", 12, []int{1, 3}, true},
		{" ivssim:actions=4;person=3 ", 3, []int{4}, true},
		{"ivssim:person=3", 3, nil, true},
		{"ivssim:person=3;actions=", 3, []int{}, true},
		{"", 0, nil, false},
		{"person=3;actions=1", 0, nil, false},
		{"ivssim:", 0, nil, false},
		{"ivssim:actions=1", 0, nil, false},
		{"ivssim:person=x;actions=1", 0, nil, false},
		{"ivssim:person=-1", 0, nil, false},
		{"ivssim:person=1;person=2", 0, nil, false},
		{"ivssim:person=1;actions=1,,2", 0, nil, false},
		{"ivssim:person=1;actions=1;actions=2", 0, nil, false},
		{"ivssim:person=1;colour=red", 0, nil, false},
		{"ivssim:person=1;", 0, nil, false},
	}
	for _, tt := range tests {
		p, a, ok := tag.ParseVideoComment(tt.in)
		if ok != tt.ok || p != tt.person || !cmp.Equal(a, tt.actions) {
			t.Errorf("ParseVideoComment(%q) = %v, %v, %v; want %v, %v, %v", tt.in, p, a, ok, tt.person, tt.actions, tt.ok)
		}
	}
}
