// Package e2e builds the sample population used by the end-to-end tests, the
// demo (cmd/demo) and the end-to-end benchmark (bench/e2e): synthetic people,
// their tagged images and videos, a manifest covering all six request shapes
// with deliberate mismatches, a row invalid at enqueue and a record whose
// media must be rejected before calling, and the outcome every record should
// end with.
//
// It owns no servers: callers upload Objects wherever they like (S3 or a local
// directory) and render the manifest with the matching reference prefix. The
// tests themselves live in package e2e_test in this directory.
package e2e
