// Package identity normalises and checks the two identity fields IVS takes as
// text: the resident id number (GB 11643, 18 characters or the old 15) and the
// name (Han characters and the middle dot of minority names). It also masks
// both for logs.
//
// It owns the rules, not their consequences: callers decide whether a failed
// check rejects a record or sets it aside for review (the Error code says
// which kind of failure it was). Error messages never contain the full id
// number or the name.
package identity
