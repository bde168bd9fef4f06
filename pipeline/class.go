package pipeline

// Class is what the outcome of an IVS call means for the record: the key
// of the outcome table (Config.Decide) and of the operators' retry rules.
// The Verifier classifies its answers (package ivs holds the one table from
// IVS codes to classes); nothing else branches on IVS error codes.
type Class int

// Outcome classes.
const (
	ClassUnknown     Class = iota
	ClassVerdict           // a 200 with a verdict: final, billed
	ClassBilledOdd         // a 200 whose body could not be read: final, billed, never retried
	ClassInputError        // IVS.0001–0012 and other 4xx about the input: final, not billed
	ClassTransient         // IVS.0101, APIG.0201, other 5xx, connection refused/reset before sending: retry with backoff
	ClassThrottled         // APIG.0308 / HTTP 429: slow down, not a failure
	ClassAuthRefresh       // APIG.0307, IVS.0013, APIG.0301 with token auth: refresh credentials and resend once
	ClassAccountStop       // IVS.0014, IVS.0015, credentials rejected after a fresh token: stop all traffic
	ClassAmbiguous         // timed out or dropped after the request was written: may have been billed
)

var classNames = [...]string{"unknown", "verdict", "billed_odd", "input_error", "transient", "throttled", "auth_refresh", "account_stop", "ambiguous"}

// String returns the class's snake_case name, as stored and configured.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// ParseClass is the inverse of String.
func ParseClass(s string) (Class, bool) {
	for i, n := range classNames {
		if n == s {
			return Class(i), true
		}
	}
	return ClassUnknown, false
}
