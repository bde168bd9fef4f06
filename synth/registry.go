package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Record values for Person.Record.
const (
	// RecordNormal is a person the authority knows, with an id photo.
	RecordNormal = ""
	// RecordNonexistent is a person the authority does not know (verdict 3001).
	RecordNonexistent = "nonexistent"
	// RecordNoPhoto is a person without an id photo at the authority (verdict 2006).
	RecordNoPhoto = "no_photo"
)

// Person is one synthetic citizen: the data printed on the id card plus how
// the simulated authority treats the record.
type Person struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	Sex       string `json:"sex"`
	Birth     string `json:"birth"`
	Ethnicity string `json:"ethnicity"`
	Address   string `json:"address"`
	Issue     string `json:"issue"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to"`
	Record    string `json:"record,omitempty"` // "" normal; "nonexistent" → 3001; "no_photo" → 2006
}

// Registry is an in-memory set of people indexed by id number and by index.
// It is read-only after construction and safe for concurrent use.
type Registry struct {
	people  []Person
	byID    map[string]int
	byIndex map[int]int
}

// NewRegistry builds a registry from people. Later duplicates of an id number
// or index shadow earlier ones in the lookups; Write keeps them all.
func NewRegistry(people []Person) *Registry {
	r := &Registry{
		people:  append([]Person(nil), people...),
		byID:    make(map[string]int, len(people)),
		byIndex: make(map[int]int, len(people)),
	}
	for i, p := range r.people {
		r.byID[p.IDNumber] = i
		r.byIndex[p.Index] = i
	}
	return r
}

// LoadRegistry reads a JSON Lines registry file.
func LoadRegistry(path string) (*Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	defer f.Close()
	r, err := ReadRegistry(f)
	if err != nil {
		return nil, fmt.Errorf("load registry %s: %w", path, err)
	}
	return r, nil
}

// ReadRegistry reads JSON Lines, one Person per line. Blank lines are skipped;
// a malformed line is an error naming its line number.
func ReadRegistry(rd io.Reader) (*Registry, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var people []Person
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		var p Person
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("registry line %d: %w", line, err)
		}
		people = append(people, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	return NewRegistry(people), nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Write writes the registry as JSON Lines, one Person per line, in order.
func (r *Registry) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, p := range r.people {
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("write registry: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	return nil
}

// ByIDNumber returns the person with the 18-character id number id.
func (r *Registry) ByIDNumber(id string) (Person, bool) {
	i, ok := r.byID[id]
	if !ok {
		return Person{}, false
	}
	return r.people[i], true
}

// ByIndex returns the person whose Index is i.
func (r *Registry) ByIndex(i int) (Person, bool) {
	j, ok := r.byIndex[i]
	if !ok {
		return Person{}, false
	}
	return r.people[j], true
}

// People returns a copy of all people in registry order.
func (r *Registry) People() []Person { return append([]Person(nil), r.people...) }

// Len returns the number of people.
func (r *Registry) Len() int { return len(r.people) }
