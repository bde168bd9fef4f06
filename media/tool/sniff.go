package tool

import (
	"bytes"
	"slices"
)

// Container is a video container IVS accepts, recognised by its magic
// bytes, and the ffmpeg demuxer its bytes are parsed with (forced: ffmpeg
// never guesses the format of an upload).
type Container struct {
	Name    string // for messages: "MP4/MOV", "WebM/Matroska", "AVI", "FLV", "ASF"
	Demuxer string // ffmpeg's -f: "mov", "matroska", "avi", "flv", "asf"
}

// QuickTime atoms a MOV or MP4 file may start with: ISO-BMFF files begin
// with ftyp, older QuickTime files with their movie, data or padding atoms.
var quickTimeAtoms = []string{"ftyp", "moov", "mdat", "wide", "free", "skip"}

// asfGUID is the ASF header object's GUID (ASF, WMV, WMA).
var asfGUID = []byte{0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C}

// Sniff names the container of data from its first bytes. ok is false for
// anything that is not one of the containers IVS accepts: a playlist
// (#EXTM3U), an ffconcat list, an SDP description, an image, text or
// random bytes are never handed to a media tool.
func Sniff(data []byte) (c Container, ok bool) {
	switch {
	case len(data) >= 8 && slices.Contains(quickTimeAtoms, string(data[4:8])):
		return Container{Name: "MP4/MOV", Demuxer: "mov"}, true
	case bytes.HasPrefix(data, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return Container{Name: "WebM/Matroska", Demuxer: "matroska"}, true
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "AVI ":
		return Container{Name: "AVI", Demuxer: "avi"}, true
	case bytes.HasPrefix(data, []byte("FLV\x01")):
		return Container{Name: "FLV", Demuxer: "flv"}, true
	case bytes.HasPrefix(data, asfGUID):
		return Container{Name: "ASF", Demuxer: "asf"}, true
	}
	return Container{}, false
}

// InputArgs are the ffmpeg/ffprobe arguments that open the file at path
// (relative to the run's directory) as c and nothing else: the demuxer
// forced, only the file protocol allowed (no http, no nested playlists
// through other protocols), and for MOV the data references off, so a
// movie cannot point the demuxer at another file. Landlock (see Runner)
// keeps even the file protocol inside the run's directory.
func (c Container) InputArgs(path string) []string {
	args := []string{"-f", c.Demuxer}
	if c.Demuxer == "mov" {
		args = append(args, "-enable_drefs", "0")
	}
	return append(args, "-protocol_whitelist", "file", "-i", "file:"+path)
}
