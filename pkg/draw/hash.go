package draw

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Version names the first protocol version, telegive-draw-v1, which every
// record made before version 2 carries. It is mixed into every v1 draw
// seed, so records of another version can never collide with it.
const Version = "telegive-draw-v1"

// VersionV2 names telegive-draw-v2, the beacon-bound draw with tickets. It
// is mixed into every v2 draw seed.
const VersionV2 = "telegive-draw-v2"

// Hash is a SHA-256 digest. Its text form is 64 lowercase hex characters.
type Hash [32]byte

// String returns h as lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	return hex.AppendEncode(nil, h[:]), nil
}

// UnmarshalText decodes exactly 64 lowercase hex characters. Upper case is
// rejected so that every hash has exactly one published form.
func (h *Hash) UnmarshalText(text []byte) error {
	if len(text) != 2*len(h) {
		return fmt.Errorf("draw: hash must be %d hex characters, got %d", 2*len(h), len(text))
	}
	if err := checkLowerHex(text); err != nil {
		return err
	}
	if _, err := hex.Decode(h[:], text); err != nil {
		return fmt.Errorf("draw: %w", err)
	}
	return nil
}

// HexBytes is a byte string whose text form is lowercase hex; the empty
// string stands for no bytes.
type HexBytes []byte

// String returns b as lowercase hex.
func (b HexBytes) String() string { return hex.EncodeToString(b) }

// MarshalText encodes b as lowercase hex.
func (b HexBytes) MarshalText() ([]byte, error) {
	return hex.AppendEncode(nil, b), nil
}

// UnmarshalText decodes lowercase hex. The empty string decodes to nil so
// that an absent beacon compares equal however it was written.
func (b *HexBytes) UnmarshalText(text []byte) error {
	if err := checkLowerHex(text); err != nil {
		return err
	}
	if len(text) == 0 {
		*b = nil
		return nil
	}
	out, err := hex.AppendDecode(nil, text)
	if err != nil {
		return fmt.Errorf("draw: %w", err)
	}
	*b = out
	return nil
}

func checkLowerHex(text []byte) error {
	for _, c := range text {
		if 'A' <= c && c <= 'F' {
			return errors.New("draw: hex must be lower case")
		}
	}
	return nil
}

// LeafHash returns the RFC 6962 leaf hash of an entrant,
// SHA-256(0x00 || uint64_be(userID)).
func LeafHash(userID int64) Hash {
	var b [9]byte
	binary.BigEndian.PutUint64(b[1:], uint64(userID))
	return sha256.Sum256(b[:])
}

// NodeHash returns the RFC 6962 hash of an inner node,
// SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	var b [1 + 2*len(Hash{})]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[1+len(left):], right[:])
	return sha256.Sum256(b[:])
}

// Commitment returns SHA-256(serverSeed), the value published before the
// entrants are known.
func Commitment(serverSeed []byte) Hash { return sha256.Sum256(serverSeed) }
