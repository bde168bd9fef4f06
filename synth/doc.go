// Package synth makes synthetic citizens and their media for the IVS
// simulator, the demo, the tests and the benchmarks: people with valid GB
// 11643 id numbers and Han names (GeneratePeople), a registry of them in JSON
// Lines (Registry, the simulated authority), face and id-card JPEGs carrying
// a machine-readable tag of whom they show (FaceJPEG, IDCardJPEG, package
// synth/tag), and short videos whose container comment says who performs
// which liveness actions (Video, with ffmpeg).
package synth
