package ivs

import (
	"errors"
	"net/http"
)

// codeClasses is THE table from a normalised IVS or gateway code to what it
// means for retries. Codes not listed fall back on the HTTP status (see
// statusClass). Nothing else in the project branches on IVS codes.
var codeClasses = map[string]Class{
	"IVS.0001":  ClassInputError,  // meta null or empty
	"IVS.0002":  ClassInputError,  // more than one req_data item
	"IVS.0003":  ClassInputError,  // required parameter null
	"IVS.0004":  ClassInputError,  // image base64 size
	"IVS.0005":  ClassInputError,  // video base64 size
	"IVS.0006":  ClassInputError,  // face image invalid
	"IVS.0007":  ClassInputError,  // id card image error
	"IVS.0008":  ClassInputError,  // liveness error
	"IVS.0009":  ClassInputError,  // face detection error
	"IVS.0010":  ClassInputError,  // face compare error
	"IVS.0011":  ClassInputError,  // parameter format
	"IVS.0012":  ClassInputError,  // Content-Type missing
	"IVS.0013":  ClassAuthRefresh, // token abnormal
	"IVS.0014":  ClassAccountStop, // service frozen (arrears)
	"IVS.0015":  ClassAccountStop, // not subscribed / wrong region
	"IVS.0101":  ClassTransient,   // internal error
	"APIG.0201": ClassTransient,   // backend timeout
	"APIG.0301": ClassAuthRefresh, // token undecryptable / bad signature: refresh, then account stop
	"APIG.0307": ClassAuthRefresh, // token expired
	"APIG.0308": ClassThrottled,   // over the rate limit
}

// Classify says what err, as returned by Client.Do, means for retries.
// nil is a verdict. A local RequestError is an input error. An AuthError is
// an account stop when IAM refused the credentials (4xx), throttled on 429,
// transient otherwise. An *Error with status 200 is ClassBilledOdd; other
// *Errors go through the code table, then statusClass. A TransportError is
// ClassAmbiguous when the request had been fully written, else transient.
func Classify(err error) Class {
	var (
		re *RequestError
		ae *AuthError
		e  *Error
		te *TransportError
	)
	switch {
	case err == nil:
		return ClassVerdict
	case errors.As(err, &re):
		return ClassInputError
	case errors.As(err, &ae):
		return authClass(ae)
	case errors.As(err, &e):
		return errorClass(e)
	case errors.As(err, &te):
		if te.Sent {
			return ClassAmbiguous
		}
		return ClassTransient
	}
	return ClassUnknown
}

func errorClass(e *Error) Class {
	if e.Status == http.StatusOK {
		return ClassBilledOdd
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		return ClassInputError // the same body would be refused again, whatever the code says
	}
	if c, ok := codeClasses[NormalizeCode(e.Code)]; ok {
		return c
	}
	return statusClass(e.Status)
}

// statusClass is the fallback for codes the table does not know.
func statusClass(status int) Class {
	switch {
	case status == http.StatusTooManyRequests:
		return ClassThrottled
	case status == http.StatusUnauthorized:
		return ClassAuthRefresh
	case status >= 500:
		return ClassTransient
	case status >= 400:
		return ClassInputError
	}
	return ClassUnknown
}

// authClass classifies a failure to get a token: IAM is never billed.
func authClass(ae *AuthError) Class {
	var e *Error
	if !errors.As(ae.Err, &e) {
		return ClassTransient
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		return ClassThrottled
	case e.Status >= 400 && e.Status < 500:
		return ClassAccountStop
	}
	return ClassTransient
}
