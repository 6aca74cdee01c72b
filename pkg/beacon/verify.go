package beacon

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/ecc/bls12381"
	"github.com/cloudflare/circl/sign/bls"
)

// Errors of [Chain.Verify], one per check, in the order the checks run.
// A failure wraps exactly one of them (or an error of [Chain.Validate]
// when the chain's own key is unusable), so a caller can name the check
// with errors.Is.
var (
	// ErrSignatureLength is a signature that is not exactly 48 bytes. It
	// is checked before any decoding: some library versions accept
	// trailing bytes or the 96-byte uncompressed form, which would give
	// one round several "randomness" values.
	ErrSignatureLength = errors.New("beacon: signature is not 48 bytes")
	// ErrSignaturePoint is a signature that does not decode as a
	// compressed G1 point in the prime-order subgroup (bad flags, a
	// coordinate out of range, off the curve, or outside the subgroup).
	ErrSignaturePoint = errors.New("beacon: signature is not a compressed G1 point of the prime-order subgroup")
	// ErrSignatureIdentity is the identity point (point at infinity).
	ErrSignatureIdentity = errors.New("beacon: signature is the identity point")
	// ErrSignatureNotCanonical is a signature whose bytes differ from
	// the canonical compressed encoding of the point they decode to.
	ErrSignatureNotCanonical = errors.New("beacon: signature is not the canonical encoding of its point")
	// ErrSignatureMismatch is a well-formed signature that does not verify
	// against the chain's key for this round.
	ErrSignatureMismatch = errors.New("beacon: signature does not verify for this round and key")
)

// Beacon is one round of a chain: its signature and the randomness
// derived from it.
type Beacon struct {
	Round     uint64
	Signature []byte
	// Randomness is SHA-256(Signature), computed locally.
	Randomness [32]byte
}

// Message returns what round r's signature signs: SHA-256(uint64_be(r)).
func Message(r uint64) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], r)
	return sha256.Sum256(b[:])
}

// Randomness returns a beacon's randomness, SHA-256(sig). It does not
// check sig: call [Chain.Verify] first.
func Randomness(sig []byte) [32]byte { return sha256.Sum256(sig) }

// Verify checks that sig is round r's beacon of the chain. In order: sig
// is exactly 48 bytes; it decodes as a compressed G1 point in the
// prime-order subgroup; the point is not the identity; sig is the
// point's canonical encoding; and it is a valid BLS signature (circl's
// sign/bls, keys on G2 and signatures on G1, hash-to-curve RFC 9380 with
// [DST]) of [Message](r) by the chain's public key. It returns nil or an
// error wrapping the sentinel of the first failed check.
//
// Verify does not validate the rest of the chain; a chain from anywhere
// but [Quicknet] should pass [Chain.Validate] and match a pinned hash.
func (c Chain) Verify(r uint64, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("round %d: %w (got %d)", r, ErrSignatureLength, len(sig))
	}
	var p bls12381.G1
	// SetBytes checks the flags, the coordinate's range, the curve
	// equation and membership of the prime-order subgroup.
	if err := p.SetBytes(sig); err != nil {
		return fmt.Errorf("round %d: %w: %v", r, ErrSignaturePoint, err)
	}
	if p.IsIdentity() {
		return fmt.Errorf("round %d: %w", r, ErrSignatureIdentity)
	}
	if !bytes.Equal(p.BytesCompressed(), sig) {
		return fmt.Errorf("round %d: %w", r, ErrSignatureNotCanonical)
	}
	if !p.IsOnG1() {
		return fmt.Errorf("round %d: %w: outside the subgroup", r, ErrSignaturePoint)
	}
	if _, err := decodePublicKey(c.PublicKey); err != nil {
		return err
	}
	var pub bls.PublicKey[bls.KeyG2SigG1]
	if err := pub.UnmarshalBinary(c.PublicKey); err != nil {
		return fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	msg := Message(r)
	if !bls.Verify(&pub, msg[:], sig) {
		return fmt.Errorf("round %d: %w", r, ErrSignatureMismatch)
	}
	return nil
}

// VerifyBeacon checks b's signature with [Chain.Verify] and that its
// randomness is SHA-256 of the signature.
func (c Chain) VerifyBeacon(b Beacon) error {
	if err := c.Verify(b.Round, b.Signature); err != nil {
		return err
	}
	if Randomness(b.Signature) != b.Randomness {
		return fmt.Errorf("round %d: %w", b.Round, ErrRandomness)
	}
	return nil
}

// ErrRandomness is a beacon whose randomness is not SHA-256 of its
// signature.
var ErrRandomness = errors.New("beacon: randomness is not SHA-256 of the signature")
