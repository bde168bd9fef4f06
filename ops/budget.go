package ops

import (
	"context"
	"fmt"
	"io"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// SetBudget sets batchID's cap on billed calls (0: no cap) and writes the
// audit row. Records a worker finished as failed budget.exhausted resume with
// Requeue (-code budget.exhausted) after the cap is raised.
func SetBudget(ctx context.Context, st *store.Store, batchID int64, max int, operator string) (store.Budget, error) {
	if batchID <= 0 {
		return store.Budget{}, fmt.Errorf("budget: -batch is required")
	}
	if max < 0 {
		return store.Budget{}, fmt.Errorf("budget: -max must be ≥ 0 (0 = no cap)")
	}
	return st.SetBudget(ctx, batchID, max, &store.AuditEntry{Operator: operator, Command: "budget",
		Args: map[string]any{"batch": batchID, "max": max}})
}

// PrintBudget writes b for an operator.
func PrintBudget(w io.Writer, b store.Budget) {
	if b.MaxBilled == 0 {
		fmt.Fprintf(w, "batch %d: no cap on billed calls", b.BatchID)
	} else {
		fmt.Fprintf(w, "batch %d: at most %d billed calls", b.BatchID, b.MaxBilled)
	}
	fmt.Fprintf(w, "; %d slots used (%d billed, %d possibly billed attempts stored)\n", b.Used, b.Billed, b.Possibly)
	if b.MaxBilled > 0 && b.Used >= b.MaxBilled {
		fmt.Fprintf(w, "the budget is used up: workers finish this batch's records as failed %s\n", pipeline.ErrorBudgetExhausted)
	}
	fmt.Fprintf(w, "records stopped by the budget resume with: ops requeue -batch %d -code %s\n", b.BatchID, pipeline.ErrorBudgetExhausted)
}
