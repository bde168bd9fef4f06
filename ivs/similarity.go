package ivs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Similarity is the face similarity score. IVS sends it as a JSON string
// ("88.43"); it is accepted as a number too. It marshals as a string, as IVS does.
type Similarity float64

// UnmarshalJSON accepts a JSON string or number.
func (s *Similarity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("similarity: %w", err)
		}
		b = []byte(str)
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(b)), 64)
	if err != nil {
		return fmt.Errorf("similarity %q: not a number", b)
	}
	*s = Similarity(f)
	return nil
}

// MarshalJSON writes the score as a JSON string, as IVS does.
func (s Similarity) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatFloat(float64(s), 'f', -1, 64))
}
