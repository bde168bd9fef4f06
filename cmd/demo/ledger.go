package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/ivssim"
)

// ledger prints the simulator's billing ledger: what was billed, whether any
// uuid was billed twice, and the busiest second per endpoint.
func ledger(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.NewFlags("demo ledger", "", `Prints the IVS simulator's billing ledger (GET IVS_ENDPOINT/_sim/ledger):
requests, billed calls, uuids billed twice, the busiest second per endpoint.`)
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	base, err := envconf.URL(os.Getenv, "IVS_ENDPOINT", "http://127.0.0.1:8090", "http", "https")
	if err != nil {
		return err
	}
	base = strings.TrimRight(base, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_sim/ledger", nil)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	req.Header.Set(ivssim.AdminHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ledger: %s answered %s", base, resp.Status)
	}
	var l ivssim.Ledger
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&l); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	fmt.Fprintf(out, "simulator: %d requests, %d billed, %d uuids billed twice\n", l.Requests, l.TotalBilled, len(l.Duplicates))
	fmt.Fprintf(out, "  by HTTP status: %s\n  by code: %s\n  busiest second per endpoint: %s\n",
		sorted(l.ByStatus), sorted(l.ByCode), sorted(l.MaxPerSecond))
	return nil
}

func sorted(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
