package tag

import (
	"strconv"
	"strings"
)

const commentPrefix = "ivssim:"

// VideoComment returns the container "comment" metadata value that tells the
// simulator whom a video shows and which actions it performs, e.g.
// "ivssim:person=12;actions=1,3".
func VideoComment(person int, actions []int) string {
	parts := make([]string, len(actions))
	for i, a := range actions {
		parts[i] = strconv.Itoa(a)
	}
	return commentPrefix + "person=" + strconv.Itoa(person) + ";actions=" + strings.Join(parts, ",")
}

// ParseVideoComment parses a value made by VideoComment. Surrounding spaces are
// ignored; anything else malformed reports false. An empty action list is valid.
func ParseVideoComment(s string) (person int, actions []int, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), commentPrefix)
	if !found {
		return 0, nil, false
	}
	person = -1
	seenActions := false
	for field := range strings.SplitSeq(s, ";") {
		key, val, found := strings.Cut(field, "=")
		if !found {
			return 0, nil, false
		}
		switch key {
		case "person":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || person >= 0 {
				return 0, nil, false
			}
			person = n
		case "actions":
			if seenActions {
				return 0, nil, false
			}
			seenActions = true
			list, ok := parseActions(val)
			if !ok {
				return 0, nil, false
			}
			actions = list
		default:
			return 0, nil, false
		}
	}
	if person < 0 {
		return 0, nil, false
	}
	return person, actions, true
}

func parseActions(val string) ([]int, bool) {
	if val == "" {
		return []int{}, true
	}
	var out []int
	for a := range strings.SplitSeq(val, ",") {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}
