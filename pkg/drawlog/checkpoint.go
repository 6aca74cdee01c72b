package drawlog

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxNoteSize bounds the bytes of a checkpoint note that is read.
const MaxNoteSize = 1 << 16

// A Checkpoint is a signed tree head of the log: the C2SP tlog-checkpoint
// body, without extension lines.
type Checkpoint struct {
	// Origin names the log; the log key's name is the same string.
	Origin string
	// Size is the number of entries.
	Size uint64
	// Root is the RFC 6962 root hash over the first Size entries.
	Root Hash
}

// Body returns the checkpoint's text: the origin, the size in decimal and
// the root in standard base64, each followed by a newline.
func (c Checkpoint) Body() string {
	return torchwood.Checkpoint{Origin: c.Origin, Tree: tlog.Tree{N: int64(c.Size), Hash: tlog.Hash(c.Root)}}.String()
}

// ParseCheckpoint reads a checkpoint body (a note's text, without its
// signatures). It refuses extension lines, an empty origin, and any body that
// does not re-encode to the same text.
func ParseCheckpoint(body string) (Checkpoint, error) {
	tc, err := torchwood.ParseCheckpoint(body)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("drawlog: %w", err)
	}
	if tc.Extension != "" {
		return Checkpoint{}, errors.New("drawlog: checkpoint has extension lines")
	}
	c := Checkpoint{Origin: tc.Origin, Size: uint64(tc.N), Root: Hash(tc.Hash)}
	if c.Origin == "" || strings.TrimSpace(c.Origin) != c.Origin {
		return Checkpoint{}, errors.New("drawlog: checkpoint origin is empty or padded")
	}
	if c.Body() != body {
		return Checkpoint{}, errors.New("drawlog: checkpoint is not in its one encoding")
	}
	return c, nil
}

// SignCheckpoint returns the C2SP signed note of the checkpoint, signed by
// the log's Ed25519 note signer, whose name must be the origin.
func SignCheckpoint(signer note.Signer, origin string, size uint64, root Hash) (string, error) {
	if signer.Name() != origin {
		return "", fmt.Errorf("drawlog: signer %q is not named for origin %q", signer.Name(), origin)
	}
	if size > math.MaxInt64 {
		return "", fmt.Errorf("drawlog: tree size %d is too large", size)
	}
	c := Checkpoint{Origin: origin, Size: size, Root: root}
	if _, err := ParseCheckpoint(c.Body()); err != nil {
		return "", err
	}
	signed, err := note.Sign(&note.Note{Text: c.Body()}, signer)
	if err != nil {
		return "", fmt.Errorf("drawlog: signing checkpoint: %w", err)
	}
	return string(signed), nil
}

// VerifyCheckpoint opens a checkpoint note, checks the log's signature on it
// and that the log key is named for the checkpoint's origin, and returns the
// checkpoint and the note. Signatures by other keys, such as witnesses'
// cosignatures, are left in the note's UnverifiedSigs for
// [VerifyCosignatures].
func VerifyCheckpoint(noteText string, log note.Verifier) (Checkpoint, *note.Note, error) {
	if len(noteText) > MaxNoteSize {
		return Checkpoint{}, nil, fmt.Errorf("drawlog: checkpoint note of %d bytes exceeds %d", len(noteText), MaxNoteSize)
	}
	n, err := note.Open([]byte(noteText), note.VerifierList(log))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return Checkpoint{}, nil, fmt.Errorf("drawlog: checkpoint is not signed by the log key %s", log.Name())
		}
		return Checkpoint{}, nil, fmt.Errorf("drawlog: checkpoint note: %w", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != log.Name() {
		return Checkpoint{}, nil, fmt.Errorf("drawlog: checkpoint origin %q is not the log key's name %q", c.Origin, log.Name())
	}
	return c, n, nil
}

// NewLogVerifier parses the log's verifier key,
// name+hash+base64(0x01 || Ed25519 public key) as in C2SP signed-note.
func NewLogVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("drawlog: log verifier key: %w", err)
	}
	return v, nil
}

// OpenNote parses a note without verifying anything: every signature is in
// the result's UnverifiedSigs.
func OpenNote(noteText string) (*note.Note, error) {
	if len(noteText) > MaxNoteSize {
		return nil, fmt.Errorf("drawlog: note of %d bytes exceeds %d", len(noteText), MaxNoteSize)
	}
	_, err := note.Open([]byte(noteText), note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, fmt.Errorf("drawlog: note: %w", err)
	}
	return unverified.Note, nil
}
