package beacon_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/cloudflare/circl/ecc/bls12381"

	"github.com/telegive/participant-service/pkg/beacon"
)

type reference struct {
	Chain  json.RawMessage `json:"chain"`
	Rounds []struct {
		Round      uint64 `json:"round"`
		Signature  string `json:"signature"`
		Randomness string `json:"randomness"`
	} `json:"rounds"`
}

type round struct {
	round      uint64
	sig        []byte
	randomness []byte
}

// loadReference reads quicknet's published info and five real rounds.
func loadReference(tb testing.TB) (json.RawMessage, []round) {
	tb.Helper()
	data, err := os.ReadFile("testdata/drand-quicknet.json")
	if err != nil {
		tb.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		tb.Fatal(err)
	}
	if len(ref.Rounds) != 5 {
		tb.Fatalf("reference has %d rounds, expected 5", len(ref.Rounds))
	}
	var out []round
	for _, r := range ref.Rounds {
		out = append(out, round{r.Round, mustHex(tb, r.Signature), mustHex(tb, r.Randomness)})
	}
	return ref.Chain, out
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestReferenceRoundsVerify(t *testing.T) {
	_, rounds := loadReference(t)
	c := beacon.Quicknet()
	for _, r := range rounds {
		t.Run(fmt.Sprint(r.round), func(t *testing.T) {
			if err := c.Verify(r.round, r.sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := beacon.Randomness(r.sig)
			if !bytes.Equal(got[:], r.randomness) {
				t.Fatalf("randomness %x, reference %x", got, r.randomness)
			}
			b := beacon.Beacon{Round: r.round, Signature: r.sig, Randomness: got}
			if err := c.VerifyBeacon(b); err != nil {
				t.Fatalf("VerifyBeacon: %v", err)
			}
			b.Randomness[0] ^= 1
			if err := c.VerifyBeacon(b); !errors.Is(err, beacon.ErrRandomness) {
				t.Fatalf("VerifyBeacon with altered randomness: %v, expected ErrRandomness", err)
			}
		})
	}
}

func flipBit(sig []byte, bit int) []byte {
	out := bytes.Clone(sig)
	out[bit/8] ^= 0x80 >> (bit % 8)
	return out
}

// uncompressed returns the 96-byte encoding of the point sig encodes.
func uncompressed(tb testing.TB, sig []byte) []byte {
	tb.Helper()
	var p bls12381.G1
	if err := p.SetBytes(sig); err != nil {
		tb.Fatal(err)
	}
	return p.Bytes()
}

// fpOrder is the BLS12-381 base field modulus.
var fpOrder, _ = new(big.Int).SetString("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f624"+
	"1eabfffeb153ffffb9feffffffffaaab", 16)

// compressedX is a 48-byte compressed encoding with x-coordinate x and the
// given flag bits in the top byte.
func compressedX(x *big.Int, flags byte) []byte {
	out := x.FillBytes(make([]byte, 48))
	out[0] |= flags
	return out
}

// onCurveOutsideSubgroup finds the smallest x >= 1 for which x^3 + 4 is a
// square modulo p: (x, y) is then on the curve, and with G1's huge
// cofactor it is outside the prime-order subgroup.
func onCurveOutsideSubgroup(tb testing.TB) []byte {
	tb.Helper()
	for i := int64(1); i < 100; i++ {
		x := big.NewInt(i)
		rhs := new(big.Int).Exp(x, big.NewInt(3), fpOrder)
		rhs.Add(rhs, big.NewInt(4)).Mod(rhs, fpOrder)
		if big.Jacobi(rhs, fpOrder) == 1 {
			return compressedX(x, 0x80)
		}
	}
	tb.Fatal("no x found")
	return nil
}

// offCurve finds an x for which x^3 + 4 is not a square: no point has it.
func offCurve(tb testing.TB) []byte {
	tb.Helper()
	for i := int64(1); i < 100; i++ {
		x := big.NewInt(i)
		rhs := new(big.Int).Exp(x, big.NewInt(3), fpOrder)
		rhs.Add(rhs, big.NewInt(4)).Mod(rhs, fpOrder)
		if big.Jacobi(rhs, fpOrder) == -1 {
			return compressedX(x, 0x80)
		}
	}
	tb.Fatal("no x found")
	return nil
}

// plusModulus re-encodes sig with x + p in place of x (the same point
// written non-canonically), or nil when x + p does not fit 381 bits.
func plusModulus(sig []byte) []byte {
	flags := sig[0] & 0xe0
	b := bytes.Clone(sig)
	b[0] &= 0x1f
	x := new(big.Int).SetBytes(b)
	x.Add(x, fpOrder)
	if x.BitLen() > 381 {
		return nil
	}
	return compressedX(x, flags)
}

func TestVerifyRefusesAlteredSignatures(t *testing.T) {
	_, rounds := loadReference(t)
	c := beacon.Quicknet()
	identity := make([]byte, 48)
	identity[0] = 0xc0
	identityUncompressed := make([]byte, 96)
	identityUncompressed[0] = 0x40
	either := []error{beacon.ErrSignaturePoint, beacon.ErrSignatureMismatch}

	for _, r := range rounds {
		cases := []struct {
			name string
			sig  []byte
			want []error // any of these
		}{
			{"compression flag flipped", flipBit(r.sig, 0), []error{beacon.ErrSignaturePoint}},
			{"infinity flag flipped", flipBit(r.sig, 1), []error{beacon.ErrSignaturePoint}},
			// The sign flag picks -P: a valid point, but not the signature.
			{"sign flag flipped", flipBit(r.sig, 2), []error{beacon.ErrSignatureMismatch}},
			{"bit 3 flipped", flipBit(r.sig, 3), either},
			{"bit 8 flipped", flipBit(r.sig, 8), either},
			{"bit 100 flipped", flipBit(r.sig, 100), either},
			{"bit 200 flipped", flipBit(r.sig, 200), either},
			{"bit 300 flipped", flipBit(r.sig, 300), either},
			{"last bit flipped", flipBit(r.sig, 383), either},
			{"byte appended", append(bytes.Clone(r.sig), 0), []error{beacon.ErrSignatureLength}},
			{"last byte dropped", r.sig[:47], []error{beacon.ErrSignatureLength}},
			{"uncompressed form", uncompressed(t, r.sig), []error{beacon.ErrSignatureLength}},
			{"empty", nil, []error{beacon.ErrSignatureLength}},
			{"identity", identity, []error{beacon.ErrSignatureIdentity}},
			{"identity uncompressed", identityUncompressed, []error{beacon.ErrSignatureLength}},
			{"on the curve, outside the subgroup", onCurveOutsideSubgroup(t), []error{beacon.ErrSignaturePoint}},
			{"off the curve", offCurve(t), []error{beacon.ErrSignaturePoint}},
		}
		if nc := plusModulus(r.sig); nc != nil {
			cases = append(cases, struct {
				name string
				sig  []byte
				want []error
			}{"x written as x + p", nc, []error{beacon.ErrSignaturePoint, beacon.ErrSignatureNotCanonical}})
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%d/%s", r.round, tc.name), func(t *testing.T) {
				err := c.Verify(r.round, tc.sig)
				for _, w := range tc.want {
					if errors.Is(err, w) {
						return
					}
				}
				t.Fatalf("Verify = %v, expected one of %v", err, tc.want)
			})
		}
	}
}

// TestNonCanonicalCaseIsCovered makes sure the x + p case above runs for
// at least one reference round.
func TestNonCanonicalCaseIsCovered(t *testing.T) {
	_, rounds := loadReference(t)
	for _, r := range rounds {
		if plusModulus(r.sig) != nil {
			return
		}
	}
	t.Fatal("no reference signature has an x small enough to write as x + p")
}

func TestVerifyRefusesWrongRoundAndKey(t *testing.T) {
	_, rounds := loadReference(t)
	q := beacon.Quicknet()
	other := beacon.Quicknet()
	other.PublicKey = bls12381.G2Generator().BytesCompressed()
	for _, r := range rounds {
		for _, tc := range []struct {
			name  string
			chain beacon.Chain
			round uint64
			want  error
		}{
			{"next round", q, r.round + 1, beacon.ErrSignatureMismatch},
			{"previous round", q, r.round - 1, beacon.ErrSignatureMismatch},
			{"round 0", q, 0, beacon.ErrSignatureMismatch},
			{"another key", other, r.round, beacon.ErrSignatureMismatch},
		} {
			t.Run(fmt.Sprintf("%d/%s", r.round, tc.name), func(t *testing.T) {
				if err := tc.chain.Verify(tc.round, r.sig); !errors.Is(err, tc.want) {
					t.Fatalf("Verify = %v, expected %v", err, tc.want)
				}
			})
		}
	}
	// Neighbouring reference rounds do not verify as each other.
	if err := q.Verify(rounds[4].round, rounds[3].sig); !errors.Is(err, beacon.ErrSignatureMismatch) {
		t.Fatalf("round %d's signature as round %d: %v", rounds[3].round, rounds[4].round, err)
	}
}

func TestQuicknetIsThePublishedChain(t *testing.T) {
	info, _ := loadReference(t)
	parsed, err := beacon.ParseInfo(info)
	if err != nil {
		t.Fatalf("ParseInfo: %v", err)
	}
	q := beacon.Quicknet()
	if q.HashHex() != "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971" {
		t.Fatalf("pinned hash %s", q.HashHex())
	}
	if !chainsEqual(parsed, q) {
		t.Fatalf("reference info %+v, Quicknet() %+v", parsed, q)
	}
	h, err := q.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h, q.Hash) {
		t.Fatalf("recomputed %x, pinned %x", h, q.Hash)
	}
	if err := q.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if q.GenesisTime != 1692803367 || q.Period != 3*time.Second || q.Scheme != "bls-unchained-g1-rfc9380" || q.BeaconID != "quicknet" {
		t.Fatalf("Quicknet() = %+v", q)
	}
	// Quicknet hands out copies: changing one leaves the next intact.
	q.Hash[0] ^= 1
	q.PublicKey[0] ^= 1
	if err := beacon.Quicknet().Validate(); err != nil {
		t.Fatalf("Quicknet() after changing an earlier copy: %v", err)
	}
}

func chainsEqual(a, b beacon.Chain) bool {
	return bytes.Equal(a.Hash, b.Hash) && bytes.Equal(a.PublicKey, b.PublicKey) &&
		bytes.Equal(a.GroupHash, b.GroupHash) && a.GenesisTime == b.GenesisTime &&
		a.Period == b.Period && a.Scheme == b.Scheme && a.BeaconID == b.BeaconID
}

// TestComputeHashLeavesOutTheDefaultBeaconID checks the hash rule on
// League of Entropy's original mainnet chain, whose beacon id is
// "default" and whose published hash covers no beacon id.
func TestComputeHashLeavesOutTheDefaultBeaconID(t *testing.T) {
	const want = "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce"
	c := beacon.Chain{
		PublicKey:   mustHex(t, "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9402801af31"),
		GenesisTime: 1595431050,
		Period:      30 * time.Second,
		GroupHash:   mustHex(t, "176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a"),
	}
	for _, id := range []string{"default", ""} {
		c.BeaconID = id
		h, err := c.ComputeHash()
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(h) != want {
			t.Fatalf("beacon id %q: hash %x, published %s", id, h, want)
		}
	}
	c.BeaconID = "other"
	if h, _ := c.ComputeHash(); hex.EncodeToString(h) == want {
		t.Fatal("a beacon id other than default does not change the hash")
	}
}

func TestValidateRefusesTamperedChains(t *testing.T) {
	flipKeyBit := func(bit int) func(c *beacon.Chain) {
		return func(c *beacon.Chain) { c.PublicKey[bit/8] ^= 0x80 >> (bit % 8) }
	}
	g2 := bls12381.G2Generator()
	for _, tc := range []struct {
		name   string
		tamper func(c *beacon.Chain)
		want   error
	}{
		{"period", func(c *beacon.Chain) { c.Period = 4 * time.Second }, beacon.ErrChainHash},
		{"genesis", func(c *beacon.Chain) { c.GenesisTime++ }, beacon.ErrChainHash},
		{"another valid key", func(c *beacon.Chain) { c.PublicKey = g2.BytesCompressed() }, beacon.ErrChainHash},
		{"key negated (sign flag)", flipKeyBit(2), beacon.ErrChainHash},
		{"group hash", func(c *beacon.Chain) { c.GroupHash[31] ^= 1 }, beacon.ErrChainHash},
		{"beacon id", func(c *beacon.Chain) { c.BeaconID = "default" }, beacon.ErrChainHash},
		{"hash", func(c *beacon.Chain) { c.Hash[0] ^= 1 }, beacon.ErrChainHash},
		{"key bit 300", flipKeyBit(300), beacon.ErrPublicKey},
		{"key last bit", flipKeyBit(767), beacon.ErrPublicKey},
		{"key compression flag", flipKeyBit(0), beacon.ErrPublicKey},
		{"key identity", func(c *beacon.Chain) {
			c.PublicKey = make([]byte, 96)
			c.PublicKey[0] = 0xc0
		}, beacon.ErrPublicKey},
		{"key uncompressed", func(c *beacon.Chain) { c.PublicKey = g2.Bytes() }, beacon.ErrPublicKey},
		{"key with a byte appended", func(c *beacon.Chain) { c.PublicKey = append(c.PublicKey, 0) }, beacon.ErrPublicKey},
		{"scheme chained", func(c *beacon.Chain) { c.Scheme = "pedersen-bls-chained" }, beacon.ErrScheme},
		{"scheme unchained on G2", func(c *beacon.Chain) { c.Scheme = "pedersen-bls-unchained" }, beacon.ErrScheme},
		{"scheme missing", func(c *beacon.Chain) { c.Scheme = "" }, beacon.ErrScheme},
		{"period not whole seconds", func(c *beacon.Chain) { c.Period = 3500 * time.Millisecond }, beacon.ErrPeriod},
		{"period zero", func(c *beacon.Chain) { c.Period = 0 }, beacon.ErrPeriod},
		{"period beyond uint32", func(c *beacon.Chain) { c.Period = (1 << 32) * time.Second }, beacon.ErrPeriod},
		{"genesis zero", func(c *beacon.Chain) { c.GenesisTime = 0 }, beacon.ErrGenesis},
		{"hash truncated", func(c *beacon.Chain) { c.Hash = c.Hash[:31] }, beacon.ErrInfo},
		{"group hash missing", func(c *beacon.Chain) { c.GroupHash = nil }, beacon.ErrInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := beacon.Quicknet()
			tc.tamper(&c)
			if err := c.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, expected %v", err, tc.want)
			}
		})
	}
}

func TestParseInfoRefusesTamperedInfo(t *testing.T) {
	info, _ := loadReference(t)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(info, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		info []byte
		want error
	}{
		{"period", edit(func(m map[string]any) { m["period"] = 30 }), beacon.ErrChainHash},
		{"genesis", edit(func(m map[string]any) { m["genesis_time"] = 1692803368 }), beacon.ErrChainHash},
		{"key", edit(func(m map[string]any) {
			m["public_key"] = hex.EncodeToString(bls12381.G2Generator().BytesCompressed())
		}), beacon.ErrChainHash},
		{"hash", edit(func(m map[string]any) {
			m["hash"] = "62db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
		}), beacon.ErrChainHash},
		{"beacon id dropped", edit(func(m map[string]any) { delete(m, "metadata") }), beacon.ErrChainHash},
		{"scheme", edit(func(m map[string]any) { m["schemeID"] = "pedersen-bls-chained" }), beacon.ErrScheme},
		{"key not hex", edit(func(m map[string]any) { m["public_key"] = "zz" }), beacon.ErrInfo},
		{"hash missing", edit(func(m map[string]any) { delete(m, "hash") }), beacon.ErrInfo},
		{"period negative", edit(func(m map[string]any) { m["period"] = -3 }), beacon.ErrPeriod},
		{"not JSON", []byte("{"), beacon.ErrInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := beacon.ParseInfo(tc.info); !errors.Is(err, tc.want) {
				t.Fatalf("ParseInfo = %v, expected %v", err, tc.want)
			}
		})
	}
}

func TestInfoJSONRoundTrip(t *testing.T) {
	q := beacon.Quicknet()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"public_key":"83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",` +
		`"period":3,"genesis_time":1692803367,"hash":"52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",` +
		`"groupHash":"f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e","schemeID":"bls-unchained-g1-rfc9380","metadata":{"beaconID":"quicknet"}}`
	if string(b) != want {
		t.Fatalf("MarshalJSON:\n%s\nexpected\n%s", b, want)
	}
	back, err := beacon.ParseInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if !chainsEqual(back, q) {
		t.Fatalf("round trip gave %+v", back)
	}
}

func TestRoundTimes(t *testing.T) {
	q := beacon.Quicknet()
	g := time.Unix(1692803367, 0)
	for _, tc := range []struct {
		round uint64
		want  time.Time
	}{
		{0, g},
		{1, g},
		{2, g.Add(3 * time.Second)},
		{1000, time.Unix(1692803367+999*3, 0)},
		{32285086, time.Unix(1692803367+32285085*3, 0)},
	} {
		if got := q.RoundTime(tc.round); !got.Equal(tc.want) {
			t.Errorf("RoundTime(%d) = %v, expected %v", tc.round, got, tc.want)
		}
	}
	if got := q.RoundTime(1 << 63); got.Before(q.RoundTime(1 << 40)) {
		t.Errorf("RoundTime of a huge round wrapped around: %v", got)
	}
}

func TestFirstRoundAtOrAfter(t *testing.T) {
	q := beacon.Quicknet()
	g := time.Unix(1692803367, 0)
	for _, tc := range []struct {
		name string
		t    time.Time
		want uint64
	}{
		{"long before genesis", time.Unix(0, 0), 1},
		{"a second before genesis", g.Add(-time.Second), 1},
		{"at genesis", g, 1},
		{"a nanosecond after genesis", g.Add(time.Nanosecond), 2},
		{"a second after genesis", g.Add(time.Second), 2},
		{"just before round 2", g.Add(3*time.Second - time.Nanosecond), 2},
		{"at round 2", g.Add(3 * time.Second), 2},
		{"a nanosecond after round 2", g.Add(3*time.Second + time.Nanosecond), 3},
		{"a second after round 2", g.Add(4 * time.Second), 3},
		{"at round 1000", time.Unix(1692803367+999*3, 0), 1000},
		{"a second before round 1000", time.Unix(1692803367+999*3-1, 0), 1000},
		{"a second after round 1000", time.Unix(1692803367+999*3+1, 0), 1001},
		{"in another zone", time.Unix(1692803367+999*3, 0).In(time.FixedZone("x", 5*3600)), 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := q.FirstRoundAtOrAfter(tc.t); got != tc.want {
				t.Fatalf("FirstRoundAtOrAfter(%v) = %d, expected %d", tc.t, got, tc.want)
			}
		})
	}
	// Every time in a span: the round found is at or after it, and the
	// round before is before it.
	start := time.Unix(1692803367+100*3, 0)
	for d := -2 * time.Second; d < 10*time.Second; d += 250 * time.Millisecond {
		at := start.Add(d)
		r := q.FirstRoundAtOrAfter(at)
		if q.RoundTime(r).Before(at) || !q.RoundTime(r-1).Before(at) {
			t.Fatalf("FirstRoundAtOrAfter(%v) = %d at %v, previous at %v", at, r, q.RoundTime(r), q.RoundTime(r-1))
		}
	}
	if got := (beacon.Chain{GenesisTime: 1}).FirstRoundAtOrAfter(time.Now()); got != 0 {
		t.Fatalf("FirstRoundAtOrAfter on a chain without a period = %d, expected 0", got)
	}
}
