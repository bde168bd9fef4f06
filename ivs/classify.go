package ivs

import (
	"errors"
	"net/http"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// codeClasses is THE table from a normalised IVS or gateway code to what it
// means for retries. Codes not listed fall back on the HTTP status (see
// statusClass). Nothing else in the project branches on IVS codes.
var codeClasses = map[string]pipeline.Class{
	"IVS.0001":  pipeline.ClassInputError,  // meta null or empty
	"IVS.0002":  pipeline.ClassInputError,  // more than one req_data item
	"IVS.0003":  pipeline.ClassInputError,  // required parameter null
	"IVS.0004":  pipeline.ClassInputError,  // image base64 size
	"IVS.0005":  pipeline.ClassInputError,  // video base64 size
	"IVS.0006":  pipeline.ClassInputError,  // face image invalid
	"IVS.0007":  pipeline.ClassInputError,  // id card image error
	"IVS.0008":  pipeline.ClassInputError,  // liveness error
	"IVS.0009":  pipeline.ClassInputError,  // face detection error
	"IVS.0010":  pipeline.ClassInputError,  // face compare error
	"IVS.0011":  pipeline.ClassInputError,  // parameter format
	"IVS.0012":  pipeline.ClassInputError,  // Content-Type missing
	"IVS.0013":  pipeline.ClassAuthRefresh, // token abnormal
	"IVS.0014":  pipeline.ClassAccountStop, // service frozen (arrears)
	"IVS.0015":  pipeline.ClassAccountStop, // not subscribed / wrong region
	"IVS.0101":  pipeline.ClassTransient,   // internal error
	"APIG.0201": pipeline.ClassTransient,   // backend timeout
	"APIG.0301": pipeline.ClassAuthRefresh, // token undecryptable / bad signature: refresh, then account stop
	"APIG.0307": pipeline.ClassAuthRefresh, // token expired
	"APIG.0308": pipeline.ClassThrottled,   // over the rate limit
}

// Classify says what err, as returned by Client.Do, means for retries.
// nil is a verdict. A local *pipeline.RequestError is an input error. An
// AuthError is an account stop when IAM refused the credentials (4xx),
// throttled on 429, transient otherwise. An *Error with status 200 is
// billed_odd; other *Errors go through the code table, then statusClass. A
// TransportError is ambiguous when the request had been fully written, else
// transient.
func Classify(err error) pipeline.Class {
	var (
		re *pipeline.RequestError
		ae *AuthError
		e  *Error
		te *TransportError
	)
	switch {
	case err == nil:
		return pipeline.ClassVerdict
	case errors.As(err, &re):
		return pipeline.ClassInputError
	case errors.As(err, &ae):
		return authClass(ae)
	case errors.As(err, &e):
		return errorClass(e)
	case errors.As(err, &te):
		if te.Sent {
			return pipeline.ClassAmbiguous
		}
		return pipeline.ClassTransient
	}
	return pipeline.ClassUnknown
}

func errorClass(e *Error) pipeline.Class {
	if e.Status == http.StatusOK {
		return pipeline.ClassBilledOdd
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		return pipeline.ClassInputError // the same body would be refused again, whatever the code says
	}
	if c, ok := codeClasses[NormalizeCode(e.Code)]; ok {
		return c
	}
	return statusClass(e.Status)
}

// statusClass is the fallback for codes the table does not know.
func statusClass(status int) pipeline.Class {
	switch {
	case status == http.StatusTooManyRequests:
		return pipeline.ClassThrottled
	case status == http.StatusUnauthorized:
		return pipeline.ClassAuthRefresh
	case status >= 500:
		return pipeline.ClassTransient
	case status >= 400:
		return pipeline.ClassInputError
	}
	return pipeline.ClassUnknown
}

// authClass classifies a failure to get a token: IAM is never billed.
func authClass(ae *AuthError) pipeline.Class {
	var e *Error
	if !errors.As(ae.Err, &e) {
		return pipeline.ClassTransient
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		return pipeline.ClassThrottled
	case e.Status >= 400 && e.Status < 500:
		return pipeline.ClassAccountStop
	}
	return pipeline.ClassTransient
}
