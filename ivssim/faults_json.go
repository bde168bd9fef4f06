package ivssim

import (
	"encoding/json"
	"fmt"
	"time"
)

type faultsWire struct {
	Rate500         float64 `json:"rate_500"`
	Rate504         float64 `json:"rate_504"`
	RateSlow        float64 `json:"rate_slow"`
	SlowDelay       string  `json:"slow_delay,omitempty"`
	RateDrop        float64 `json:"rate_drop"`
	RateTokenExpire float64 `json:"rate_token_expire"`
}

// MarshalJSON writes f with slow_delay as a Go duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsWire{f.Rate500, f.Rate504, f.RateSlow, f.SlowDelay.String(), f.RateDrop, f.RateTokenExpire})
}

// UnmarshalJSON reads f; slow_delay is a Go duration string ("2s"), absent = default.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	*f = Faults{Rate500: w.Rate500, Rate504: w.Rate504, RateSlow: w.RateSlow, RateDrop: w.RateDrop, RateTokenExpire: w.RateTokenExpire}
	if w.SlowDelay != "" {
		d, err := time.ParseDuration(w.SlowDelay)
		if err != nil {
			return fmt.Errorf("faults: slow_delay: %w", err)
		}
		f.SlowDelay = d
	}
	return nil
}
