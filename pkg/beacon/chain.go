// Package beacon pins drand randomness beacon chains and verifies their
// beacons locally, for the telegive-draw-v2 protocol.
//
// # Chains
//
// A drand chain is pinned by its chain hash, public key, genesis time,
// period and scheme. The chain hash is
//
//	SHA-256(uint32_be(period) || int64_be(genesis_time) || public_key || groupHash || beaconID)
//
// with period in whole seconds, genesis_time in Unix seconds, public_key the
// 96-byte compressed G2 point, and beaconID left out when it is "default"
// (or empty). The hash does not cover the scheme, so [Chain.Validate] checks
// the scheme separately: only [SchemeUnchainedG1]
// (bls-unchained-g1-rfc9380) is supported. [Quicknet] is League of
// Entropy's mainnet quicknet chain, the default; any other chain must be
// named explicitly by whoever relies on it.
//
// Round r (from 1) is published at genesis_time + (r - 1) * period.
//
// # Beacons
//
// A beacon of round r is valid only if its signature is exactly 48 bytes,
// the canonical compressed encoding of a G1 point that is not the identity
// and lies in the prime-order subgroup, and it is a BLS signature by the
// chain's key of SHA-256(uint64_be(r)), hashed to G1 by RFC 9380 with the
// domain separation tag [DST]. Its randomness is SHA-256(signature), always
// computed by the verifier ([Randomness]), never taken from a relay.
//
// Curve arithmetic, point decoding and pairings are those of
// github.com/cloudflare/circl (ecc/bls12381 and sign/bls); this package
// only adds the checks above around them.
package beacon

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cloudflare/circl/ecc/bls12381"
)

const (
	// SchemeUnchainedG1 is the only supported drand scheme: unchained
	// rounds, signatures on G1, public key on G2, hash-to-curve RFC 9380.
	SchemeUnchainedG1 = "bls-unchained-g1-rfc9380"
	// DST is the hash-to-curve domain separation tag of the scheme.
	DST = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
	// DefaultBeaconID is the beacon id that the chain hash leaves out.
	DefaultBeaconID = "default"
	// SignatureSize is the length of a compressed G1 point.
	SignatureSize = bls12381.G1SizeCompressed
	// PublicKeySize is the length of a compressed G2 point.
	PublicKeySize = bls12381.G2SizeCompressed
	// HashSize is the length of a chain hash and of a group hash.
	HashSize = sha256.Size
)

// Errors of [Chain.Validate]. Each failure wraps exactly one of them, so a
// caller can name the check with errors.Is.
var (
	// ErrInfo is a malformed or incomplete chain info.
	ErrInfo = errors.New("beacon: malformed chain info")
	// ErrPeriod is a period that is not a whole number of seconds in
	// 1..2^32-1.
	ErrPeriod = errors.New("beacon: period must be a whole number of seconds between 1 and 2^32-1")
	// ErrGenesis is a genesis time that is not a positive Unix time.
	ErrGenesis = errors.New("beacon: genesis time must be a positive Unix time")
	// ErrScheme is a scheme other than [SchemeUnchainedG1].
	ErrScheme = errors.New("beacon: unsupported scheme")
	// ErrPublicKey is a public key that is not the canonical compressed
	// encoding of a G2 point, other than the identity, in the prime-order
	// subgroup.
	ErrPublicKey = errors.New("beacon: public key is not a compressed G2 point of the prime-order subgroup")
	// ErrChainHash is a chain hash that differs from the one recomputed
	// from the chain's info.
	ErrChainHash = errors.New("beacon: chain hash does not match the chain's info")
)

// Chain is a drand chain's info, as served by a relay's /info. Byte
// fields are raw bytes (lower-case hex in JSON).
type Chain struct {
	// Hash is the 32-byte chain hash, which names the chain.
	Hash []byte
	// PublicKey is the group's key, a 96-byte compressed G2 point.
	PublicKey []byte
	// GenesisTime is the Unix time of the chain's start, in seconds.
	GenesisTime int64
	// Period is the time between rounds, a whole number of seconds.
	Period time.Duration
	// GroupHash is the 32-byte hash of the group file.
	GroupHash []byte
	// Scheme is drand's schemeID.
	Scheme string
	// BeaconID is the chain's beacon id (metadata.beaconID); "default" or
	// empty is left out of the chain hash.
	BeaconID string
}

// Hex values of quicknet, League of Entropy's mainnet chain.
const (
	quicknetHash      = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
	quicknetPublicKey = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
	quicknetGroupHash = "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e"
)

// Quicknet returns League of Entropy's mainnet quicknet chain, pinned:
// genesis 1692803367 (2023-08-23T15:09:27Z), a round every 3 seconds,
// scheme bls-unchained-g1-rfc9380. Each call returns fresh slices, so a
// caller cannot change the pinned values.
func Quicknet() Chain {
	return Chain{
		Hash:        mustHex(quicknetHash),
		PublicKey:   mustHex(quicknetPublicKey),
		GenesisTime: 1692803367,
		Period:      3 * time.Second,
		GroupHash:   mustHex(quicknetGroupHash),
		Scheme:      SchemeUnchainedG1,
		BeaconID:    "quicknet",
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// HashHex returns the chain hash in lower-case hex, as relay URLs and
// records name the chain.
func (c Chain) HashHex() string { return hex.EncodeToString(c.Hash) }

// periodSeconds returns the period in seconds, or an error when it is not
// a whole number of seconds that fits the hash's uint32.
func (c Chain) periodSeconds() (int64, error) {
	if c.Period < time.Second || c.Period%time.Second != 0 || c.Period/time.Second > math.MaxUint32 {
		return 0, fmt.Errorf("%w (got %v)", ErrPeriod, c.Period)
	}
	return int64(c.Period / time.Second), nil
}

// ComputeHash recomputes the chain hash from the chain's info: SHA-256 of
// uint32_be(period in seconds), int64_be(genesis time), the public key, the
// group hash and the beacon id, the beacon id left out when it is
// "default" or empty. It fails only on a period the hash cannot encode.
func (c Chain) ComputeHash() ([]byte, error) {
	p, err := c.periodSeconds()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(p))
	binary.BigEndian.PutUint64(b[4:], uint64(c.GenesisTime))
	h.Write(b[:])
	h.Write(c.PublicKey)
	h.Write(c.GroupHash)
	if c.BeaconID != "" && c.BeaconID != DefaultBeaconID {
		h.Write([]byte(c.BeaconID))
	}
	return h.Sum(nil), nil
}

// Validate checks that the chain can be relied on: a period of whole
// seconds, a positive genesis time, the scheme [SchemeUnchainedG1], a
// public key that is the canonical compressed encoding of a G2 point in
// the prime-order subgroup (not the identity), a 32-byte group hash, and a
// chain hash equal to the one [Chain.ComputeHash] gives. The error wraps
// one of ErrPeriod, ErrGenesis, ErrScheme, ErrPublicKey, ErrInfo or
// ErrChainHash.
//
// Validate says the info is self-consistent; only comparing Hash with a
// pinned chain hash says it is the chain meant.
func (c Chain) Validate() error {
	if _, err := c.periodSeconds(); err != nil {
		return err
	}
	if c.GenesisTime <= 0 {
		return fmt.Errorf("%w (got %d)", ErrGenesis, c.GenesisTime)
	}
	if c.Scheme != SchemeUnchainedG1 {
		return fmt.Errorf("%w %q: only %s is supported", ErrScheme, c.Scheme, SchemeUnchainedG1)
	}
	if _, err := decodePublicKey(c.PublicKey); err != nil {
		return err
	}
	if len(c.GroupHash) != HashSize {
		return fmt.Errorf("%w: group hash is %d bytes, expected %d", ErrInfo, len(c.GroupHash), HashSize)
	}
	if len(c.Hash) != HashSize {
		return fmt.Errorf("%w: chain hash is %d bytes, expected %d", ErrInfo, len(c.Hash), HashSize)
	}
	h, err := c.ComputeHash()
	if err != nil {
		return err
	}
	if !bytes.Equal(h, c.Hash) {
		return fmt.Errorf("%w: the info hashes to %x, the chain says %x", ErrChainHash, h, c.Hash)
	}
	return nil
}

// decodePublicKey decodes a chain's key, refusing anything but the
// canonical compressed encoding of a non-identity point of G2's
// prime-order subgroup.
func decodePublicKey(b []byte) (*bls12381.G2, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, expected %d", ErrPublicKey, len(b), PublicKeySize)
	}
	var p bls12381.G2
	// SetBytes checks the encoding, the curve equation and membership of
	// the prime-order subgroup.
	if err := p.SetBytes(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPublicKey, err)
	}
	if p.IsIdentity() {
		return nil, fmt.Errorf("%w: the identity", ErrPublicKey)
	}
	if !bytes.Equal(p.BytesCompressed(), b) {
		return nil, fmt.Errorf("%w: not the canonical encoding", ErrPublicKey)
	}
	if !p.IsOnG2() {
		return nil, fmt.Errorf("%w: not in the prime-order subgroup", ErrPublicKey)
	}
	return &p, nil
}

// RoundTime returns the time round r is published: genesis_time +
// (r - 1) * period. Rounds start at 1; RoundTime(0) is the genesis time,
// as in drand. Times too far to represent are clamped to the year
// 146 billion, beyond any real round.
func (c Chain) RoundTime(r uint64) time.Time {
	p := int64(c.Period / time.Second)
	if r <= 1 || p <= 0 {
		return time.Unix(c.GenesisTime, 0).UTC()
	}
	const maxUnix = 1 << 62
	n := r - 1
	if c.GenesisTime >= maxUnix || n > uint64((maxUnix-c.GenesisTime)/p) {
		return time.Unix(maxUnix, 0).UTC()
	}
	return time.Unix(c.GenesisTime+int64(n)*p, 0).UTC()
}

// FirstRoundAtOrAfter returns the first round whose time is at or after t:
// round 1 when t is at or before genesis, otherwise the smallest r with
// genesis_time + (r - 1) * period >= t. It is exact at boundaries (a t
// equal to a round's time gives that round; a nanosecond later, the next).
// It returns 0 on a chain whose period is not at least one second.
func (c Chain) FirstRoundAtOrAfter(t time.Time) uint64 {
	p := int64(c.Period / time.Second)
	if p <= 0 {
		return 0
	}
	// Round times are whole seconds, so at or after t means at or after
	// t rounded up to a whole second.
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	if s <= c.GenesisTime {
		return 1
	}
	d := uint64(s) - uint64(c.GenesisTime) // s > genesis, so no wrap-around in two's complement
	n := d / uint64(p)
	if d%uint64(p) != 0 {
		n++
	}
	return 1 + n
}

// infoJSON is the /info answer of drand's HTTP relay API.
type infoJSON struct {
	PublicKey   string       `json:"public_key"`
	Period      int64        `json:"period"`
	GenesisTime int64        `json:"genesis_time"`
	Hash        string       `json:"hash"`
	GroupHash   string       `json:"groupHash"`
	SchemeID    string       `json:"schemeID"`
	Metadata    infoMetadata `json:"metadata"`
}

type infoMetadata struct {
	BeaconID string `json:"beaconID"`
}

// MarshalJSON writes the chain as drand's /info JSON: public_key, period
// (seconds), genesis_time, hash, groupHash, schemeID and
// metadata.beaconID.
func (c Chain) MarshalJSON() ([]byte, error) {
	return json.Marshal(infoJSON{
		PublicKey:   hex.EncodeToString(c.PublicKey),
		Period:      int64(c.Period / time.Second),
		GenesisTime: c.GenesisTime,
		Hash:        hex.EncodeToString(c.Hash),
		GroupHash:   hex.EncodeToString(c.GroupHash),
		SchemeID:    c.Scheme,
		Metadata:    infoMetadata{BeaconID: c.BeaconID},
	})
}

// UnmarshalJSON reads drand's /info JSON without validating it; use
// [ParseInfo] to read and validate at once. Unknown fields are ignored.
func (c *Chain) UnmarshalJSON(data []byte) error {
	var in infoJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%w: %v", ErrInfo, err)
	}
	var out Chain
	var err error
	if out.PublicKey, err = decodeHex("public_key", in.PublicKey); err != nil {
		return err
	}
	if out.Hash, err = decodeHex("hash", in.Hash); err != nil {
		return err
	}
	if out.GroupHash, err = decodeHex("groupHash", in.GroupHash); err != nil {
		return err
	}
	if in.Period < 1 || in.Period > math.MaxUint32 {
		return fmt.Errorf("%w (got %d s)", ErrPeriod, in.Period)
	}
	out.Period = time.Duration(in.Period) * time.Second
	out.GenesisTime = in.GenesisTime
	out.Scheme = in.SchemeID
	out.BeaconID = in.Metadata.BeaconID
	*c = out
	return nil
}

func decodeHex(field, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: %s is missing", ErrInfo, field)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInfo, field, err)
	}
	return b, nil
}

// ParseInfo reads a chain from drand's /info JSON and validates it with
// [Chain.Validate]. A valid chain is not necessarily the one meant: compare
// its Hash with the pinned chain hash.
func ParseInfo(data []byte) (Chain, error) {
	var c Chain
	if err := c.UnmarshalJSON(data); err != nil {
		return Chain{}, err
	}
	if err := c.Validate(); err != nil {
		return Chain{}, err
	}
	return c, nil
}
