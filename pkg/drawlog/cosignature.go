package drawlog

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

// A Cosignature is a witness's verified C2SP cosignature/v1 on a checkpoint.
type Cosignature struct {
	// Name is the witness key's name.
	Name string
	// KeyHash is the witness key's hash, as in its verifier key.
	KeyHash uint32
	// Time is when the witness says it cosigned, whole seconds, UTC.
	Time time.Time
	// Signature is the note signature line's content, to copy into a note.
	Signature note.Signature
}

// A QuorumError says that fewer witnesses than the quorum cosigned.
type QuorumError struct {
	// Cosigned is how many of the witnesses cosigned verifiably.
	Cosigned int
	// Witnesses is how many were asked or known.
	Witnesses int
	// Quorum is how many were needed.
	Quorum int
}

func (e *QuorumError) Error() string {
	return fmt.Sprintf("drawlog: %d of %d witnesses cosigned, quorum is %d", e.Cosigned, e.Witnesses, e.Quorum)
}

// NewWitnessVerifier parses a witness's cosignature/v1 verifier key,
// name+hash+base64(0x04 || Ed25519 public key) as in C2SP tlog-cosignature,
// into a verifier of its cosignatures. The key hash must be the one the name
// and key give.
func NewWitnessVerifier(vkey string) (note.Verifier, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	hash16, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	switch {
	case name == "" || len(hash16) != 8 || err != nil:
		return nil, fmt.Errorf("drawlog: witness key %q is not name+hash+base64", vkey)
	case len(key) == 0 || key[0] != 0x04:
		return nil, fmt.Errorf("drawlog: witness key %q is not a cosignature/v1 key (type 0x04)", vkey)
	case len(key) != 1+ed25519.PublicKeySize:
		return nil, fmt.Errorf("drawlog: witness key %q has %d key bytes, want %d", vkey, len(key)-1, ed25519.PublicKeySize)
	}
	// torchwood builds its cosignature verifier only from a signer; this one
	// carries the public key alone and cannot sign.
	s, err := torchwood.NewCosignatureSigner(name, publicKeyOnly(key[1:]))
	if err != nil {
		return nil, fmt.Errorf("drawlog: witness key %q: %w", vkey, err)
	}
	v := s.Verifier()
	if v.String() != vkey {
		return nil, fmt.Errorf("drawlog: witness key %q: key hash does not match the name and key (want %08x)", vkey, v.KeyHash())
	}
	return v, nil
}

type publicKeyOnly ed25519.PublicKey

func (k publicKeyOnly) Public() crypto.PublicKey { return ed25519.PublicKey(k) }

func (publicKeyOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("drawlog: a verifier key cannot sign")
}

// VerifyCosignatures checks the witnesses' cosignatures on a checkpoint note
// (from [VerifyCheckpoint] or [OpenNote]): each signature line whose name and
// key hash are a witness's is verified against that witness's
// cosignature/v1 key and the note's exact text. It returns one Cosignature
// per witness that cosigned, in the order of witnesses, with the earliest
// time when a witness signed more than once; lines of unknown keys are
// ignored and a line that does not verify is never counted. With fewer than
// quorum witnesses it returns those it found and a *QuorumError.
func VerifyCosignatures(n *note.Note, witnesses []note.Verifier, quorum int) ([]Cosignature, error) {
	if quorum < 0 || quorum > len(witnesses) {
		return nil, fmt.Errorf("drawlog: quorum %d of %d witnesses", quorum, len(witnesses))
	}
	type nameHash struct {
		name string
		hash uint32
	}
	seen := make(map[nameHash]bool, len(witnesses))
	for _, w := range witnesses {
		if _, ok := w.(*torchwood.CosignatureVerifier); !ok {
			return nil, fmt.Errorf("drawlog: witness %s is not a cosignature/v1 key", w.Name())
		}
		k := nameHash{w.Name(), w.KeyHash()}
		if seen[k] {
			return nil, fmt.Errorf("drawlog: witness %s+%08x is listed twice", w.Name(), w.KeyHash())
		}
		seen[k] = true
	}
	var out []Cosignature
	for _, w := range witnesses {
		var best *Cosignature
		for _, list := range [][]note.Signature{n.Sigs, n.UnverifiedSigs} {
			for _, sig := range list {
				if sig.Name != w.Name() || sig.Hash != w.KeyHash() {
					continue
				}
				c, ok := verifyOne(n.Text, sig, w)
				if ok && (best == nil || c.Time.Before(best.Time)) {
					best = &c
				}
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	if len(out) < quorum {
		return out, &QuorumError{Cosigned: len(out), Witnesses: len(witnesses), Quorum: quorum}
	}
	return out, nil
}

// verifyOne verifies a single signature line by opening a note that holds it
// alone, so that one bad line cannot hide the others.
func verifyOne(text string, sig note.Signature, w note.Verifier) (Cosignature, bool) {
	msg, err := note.Sign(&note.Note{Text: text, Sigs: []note.Signature{sig}})
	if err != nil {
		return Cosignature{}, false
	}
	if _, err := note.Open(msg, note.VerifierList(w)); err != nil {
		return Cosignature{}, false
	}
	ts, err := torchwood.CosignatureTimestamp(sig)
	if err != nil {
		return Cosignature{}, false
	}
	return Cosignature{Name: sig.Name, KeyHash: sig.Hash, Time: time.Unix(ts, 0).UTC(), Signature: sig}, true
}

// AddSignatures returns the note with the signatures appended after its own,
// skipping any line it already has: for a checkpoint with the cosignatures a
// witness returned.
func AddSignatures(n *note.Note, sigs ...note.Signature) (string, error) {
	all := &note.Note{Text: n.Text}
	have := make(map[note.Signature]bool)
	for _, list := range [][]note.Signature{n.Sigs, n.UnverifiedSigs, sigs} {
		for _, s := range list {
			if !have[s] {
				have[s] = true
				all.Sigs = append(all.Sigs, s)
			}
		}
	}
	out, err := note.Sign(all)
	if err != nil {
		return "", fmt.Errorf("drawlog: %w", err)
	}
	return string(out), nil
}
