// Package ivs is a client for Huawei Cloud's Identity Verification Service
// (IVS, 人证核身) v2.0: the six request shapes of its two endpoints
// (/v2.0/ivs-standard and /v2.0/ivs-idcard-extention) with the official SDK's
// field names, one req_data item per request and the caller's meta.uuid.
//
// Authentication is either an IAM password token (fetched from the IAM
// endpoint's X-Subject-Token, cached, refreshed ahead of its 24 h expiry and
// on demand, one fetch in flight) or AK/SK SDK-HMAC-SHA256 signing at send
// time (Signer). ConfigFromEnv reads endpoints and credentials from the
// environment; nothing secret is ever logged.
//
// Client.Do never retries. Its errors are typed: *pipeline.RequestError
// (refused locally, nothing sent), *AuthError (no token), *TransportError
// (no answer; Sent says whether the request may have been billed) and
// *Error (an HTTP answer with status, normalised code — APIGW.0308 equals
// APIG.0308 —, message and X-Request-Id). Classify maps every outcome to the
// pipeline.Class the outcome table keys on; the code→class mapping is one
// table (classify.go).
//
// The shapes, endpoints and classes are the domain's (package pipeline):
// this package imports them, never the reverse. Client implements the
// domain's Verifier port (Verify, RefreshAuth), whose errors are
// *pipeline.CallError values wrapping the typed errors above.
package ivs
