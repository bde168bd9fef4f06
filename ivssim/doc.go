// Package ivssim simulates Huawei Cloud IVS (人证核身) for staging, demos and
// tests: the two verification endpoints behind a simulated API gateway, the
// IAM token endpoint, a registry of synthetic people standing in for the
// authority, a per-endpoint quota, a latency model, fault injection, and a
// billing ledger. It owns nothing else: the client is package ivs, the
// people and tagged media are made by package synth.
//
// # Running
//
//	IVS_AK=SIMAK0000000000000000 IVS_SK=sim-secret-key \
//	IVS_IAM_DOMAIN=simdomain IVS_IAM_USER=simuser IVS_IAM_PASSWORD=sim-password \
//	go run ./cmd/ivs-sim -registry fixtures/registry.jsonl
//
// listens on 127.0.0.1:8090 (see `ivs-sim -h` for every flag). Point the
// client at it with IVS_ENDPOINT=http://127.0.0.1:8090 (IAM is served on the
// same address). In tests, use ivssimtest.Start, or New and Handler with an
// httptest server.
//
// # Routes
//
//	POST /v2.0/ivs-standard            three factors (face image or video)
//	POST /v2.0/ivs-idcard-extention    two factors ("extention" is the real spelling)
//	POST /v3/auth/tokens               IAM password token: 201, X-Subject-Token header,
//	                                   body {"token":{"expires_at":...}} (lifetime Config.TokenTTL)
//	GET  /healthz                      200 {"status":"ok"} (for probes; not an admin route)
//	GET  /_sim/ledger                  the billing Ledger as JSON
//	POST /_sim/ledger/reset            clear the ledger
//	POST /_sim/account                 {"state":"IVS.0014"} frozen, "IVS.0015" not subscribed, "" normal
//	GET  /_sim/faults                  fault rates in force
//	POST /_sim/faults                  {"rate_500":0.1,"rate_504":0,"rate_slow":0,"slow_delay":"35s","rate_drop":0,"rate_token_expire":0}
//	POST /_sim/tokens/expire           every issued token expires now
//
// The admin routes have no authentication. They answer only loopback
// clients asking a loopback Host, with the header X-IVSSim-Admin: 1, and
// POSTs only with Content-Type: application/json, so that no web page can
// drive them (AdminHeader). Bind the simulator to loopback all the same.
// Every answer carries an X-Request-Id header.
//
// # Processing order
//
// An IVS call goes through the same stages as the real stack, and the first
// failing stage answers:
//
//  1. Gateway: method other than POST or unknown path → 404 APIG.0101; a body
//     over 12 MB → 413 APIG.0201; a body not read within 30 s → 400 APIG.0201.
//  2. Gateway auth: X-Auth-Token must be a token this simulator issued and
//     not expired (malformed → 401 APIG.0301 "decrypt token fail"; well-formed
//     but unknown, e.g. from a previous run → 400 IVS.0013; expired → 401
//     APIG.0307). Without a token, an SDK-HMAC-SHA256 Authorization over the
//     exact body with a known AK is required; a missing, malformed or wrong
//     signature, an unknown AK, an unsigned or more than 15 minutes off
//     X-Sdk-Date, or an X-Project-Id other than Config.ProjectID → 401 APIG.0301.
//  3. Quota: at most Config.Quota (rounded down, at least 1; default 10)
//     requests accepted per endpoint in any sliding one-second window, else
//     429 APIG.0308 with Retry-After: 2. Negative Quota turns it off.
//  4. Faults (see below), then the latency model: Latency.Fixed plus a
//     uniform 0..Latency.Jitter.
//  5. Service: account state (400 IVS.0014 / IVS.0015), Content-Type missing
//     (400 IVS.0012), then validation and the verdict.
//
// # Validation (all 400)
//
// Body not a JSON object, or a field of the wrong JSON type → IVS.0011
// ("error in parsing X, T type expected"). meta absent, null, empty, or
// without uuid → IVS.0001; uuid over 64 bytes → IVS.0011. data or req_data
// absent, null or empty → IVS.0003; more than one item → IVS.0002. A required
// field absent or null → IVS.0003 (standard: name+id or idcard_image1, and
// face_image or video+actions; extention: name+id or idcard_image1); a string
// field present but empty → IVS.0011. verification_name with characters
// other than Han, "·" (U+00B7) or Private Use Area → IVS.0011; longer than
// 128 bytes → IVS.0011. verification_id not 15/18 long, with a bad date or
// check character → IVS.0011. actions not a comma list of 1–5, nod_threshold
// outside 1–90, detail/crop not booleans → IVS.0011.
// Images: base64 outside 10 KB–4 MB → IVS.0004; not base64, not a JPEG, a
// side outside 300–4000 px → IVS.0006 (face) or IVS.0007 (card). Cards must
// be horizontal and carry an id-card tag; two sides must be of one card and
// include the front, else IVS.0007. Videos: base64 outside 10 KB–10 MB (or a
// file over 8 MB) → IVS.0005; not decodable by ffprobe, container not one of
// mp4/mov/avi/flv/webm(matroska)/asf, codec not one of h261, h263, h264,
// hevc, vc1, vp8, vp9, wmv3, duration outside 1–15 s, or no tag comment →
// IVS.0008.
//
// # Verdicts (200, billed)
//
// Media say whom they show through tags from package synth/tag: pictures
// carry a code painted in the pixels (tag.Read), videos a container
// "comment" metadata (tag.ParseVideoComment: "ivssim:person=12;actions=1,3").
// The claimed identity is the registry person with verification_id (text
// shapes) or the person of the card's tag (card shapes). Then, in order:
//
//	id not in the registry, or Record "nonexistent"  → 3001 nonexistent
//	verification_name ≠ registry name                → 2001 (PUA names never match)
//	extention endpoint                                → 1000
//	Record "no_photo"                                 → 2006
//	face image without any tag                        → 2003
//	face image carrying an id-card tag                → 400 IVS.0010 (no face to compare)
//	crop (default true), face base64 > 90 KB and the
//	  face's person index ends in 9                   → 400 IVS.0009 "0 faces" (the crop path)
//	video: requested actions not all shown, in order  → 2003, video_result.alive false
//	face/video person ≠ claimed person                → 2002, similarity 5–35
//	otherwise                                         → 1000, similarity 80–99
//
// similarity is a JSON string: an integer on 0–100, or with detail=true a
// one-decimal value on 0–1000; it is deterministic per pair of people. Card
// shapes return idcard_result from the registry; video shapes return
// video_result (alive, one confidence per requested action, a small picture).
//
// # Faults
//
// Config.Faults (or SetFaults, or POST /_sim/faults) gives probabilities,
// drawn per accepted request from an RNG seeded by Config.Seed:
// RateTokenExpire expires the caller's token now (401 APIG.0307; token auth
// only); RateDrop closes the connection without an answer (not billed: the
// request never reached the service; the client sees an ambiguous failure);
// Rate504 answers 504 APIG.0201 after the latency; Rate500 answers 500
// IVS.0101; RateSlow waits SlowDelay (default 35 s) and then answers normally.
// A slow answer is billed even when the caller has given up, as the real
// service bills every call it completes: the ledger then shows a 200 the
// client never saw, which is what "possibly billed" means. Latency and slow
// waits end early only on Close.
//
// # Registry
//
// The authority is a *synth.Registry, read from JSON Lines (synth.LoadRegistry),
// one synth.Person per line, as `demo prepare` (cmd/demo) writes it:
//
//	{"index":0,"name":"张伟","id_number":"110101196001011002","sex":"男","birth":"1960-01-01",
//	 "ethnicity":"汉","address":"…","issue":"…","valid_from":"2020-01-01","valid_to":"2040-01-01"}
//	{"index":1,…,"record":"nonexistent"}   // or "no_photo"
//
// index is the number the media tags carry.
//
// # Ledger
//
// Every answer of the IVS endpoints is counted by status ("200", "429", …,
// "dropped") and code (the verification code of a 200, else the error code);
// every 200 bills its meta.uuid once. MaxPerSecond is the highest number of
// requests accepted by the quota on each endpoint within any one-second
// window. Pipeline tests read it to prove no double billing and quota respect.
package ivssim
