package media

import "github.com/ivsbatch/ivsbatch/rejection"

// Rejection codes. Each is the RejectCode of an *Error: the input itself can
// never be made acceptable to IVS, so retrying is pointless.
const (
	CodeEmpty             = "media.empty"              // zero bytes
	CodeNotImage          = "media.not_image"          // not a recognised image format
	CodeUnsupportedFormat = "media.unsupported_format" // a known image format this package cannot decode (HEIC, AVIF, …)
	CodeCorruptImage      = "media.corrupt_image"      // recognised but fails to decode (truncated, damaged)
	CodeTooSmall          = "media.too_small"          // a side under 300 px after orientation
	CodeCardPortrait      = "media.card_portrait"      // ID card still portrait after EXIF orientation
	CodeCannotFit         = "media.cannot_fit"         // no size/quality meets the IVS limits
	CodeNotVideo          = "media.not_video"          // not a video container IVS accepts (playlists, lists, images refused unread), or no video stream
	CodeCorruptVideo      = "media.corrupt_video"      // probes but fails to decode (truncated, damaged)
	CodeVideoTooShort     = "media.video_too_short"    // under 1 s
	CodeVideoTooLong      = "media.video_too_long"     // over 15 s and TrimVideo is off
	CodeUnsupportedCodec  = "media.unsupported_codec"  // video codec ffmpeg cannot decode
	CodeTooCostly         = "media.too_costly"         // reading the video needs more CPU time, memory or output than one ffmpeg run may use
	CodeUnknownKind       = "media.unknown_kind"       // MediaKind not known to this package
)

// Error is a local rejection: a stable Code (the constants above) and a human
// Message. Messages never contain media bytes. Failures that are not the
// input's fault (ffmpeg missing, context cancelled, temp dir errors) are
// ordinary wrapped errors, never *Error, so callers retry them. It is the
// one rejection type of ivsbatch (rejection.Error).
type Error = rejection.Error

// ErrorCode returns the Code of the *Error in err's chain, or "" if none.
func ErrorCode(err error) string { return rejection.Code(err) }

func reject(code, msg string) *Error { return rejection.New(code, msg) }
