package drawlog_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/drawlog"
)

// The test keys. Their private halves are public on purpose: they sign the
// test vectors and nothing else.
const (
	testOrigin = "telegive.org/participant-service/draw-log"
	// testLogKey signs the vectors' checkpoints (Ed25519 seed 0x07 * 32).
	testLogKey = "PRIVATE+KEY+telegive.org/participant-service/draw-log+8e9dea39+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
	// testLogVKey is testLogKey's verifier key.
	testLogVKey = "telegive.org/participant-service/draw-log+8e9dea39+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
	// otherLogKey has the same name as testLogKey but another key (seed 0x08 * 32).
	otherLogKey  = "PRIVATE+KEY+telegive.org/participant-service/draw-log+7ec3c354+AQgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"
	otherLogVKey = "telegive.org/participant-service/draw-log+7ec3c354+AROY9ixtGkV8UbpqS189vS9p/KkyFiGNyJl+QWvRfZPK"
)

// testWitness returns a cosignature/v1 signer whose Ed25519 seed is the
// byte b repeated.
func testWitness(t testing.TB, name string, b byte) *torchwood.CosignatureSigner {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	s, err := torchwood.NewCosignatureSigner(name, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSigner(t testing.TB, skey string) note.Signer {
	t.Helper()
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustLogVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := drawlog.NewLogVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustWitnessVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := drawlog.NewWitnessVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignAndVerifyCheckpoint(t *testing.T) {
	root := sum("root")
	signed, err := drawlog.SignCheckpoint(mustSigner(t, testLogKey), testOrigin, 11, root)
	if err != nil {
		t.Fatal(err)
	}
	body := testOrigin + "\n11\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
	if !strings.HasPrefix(signed, body+"\n— "+testOrigin+" ") {
		t.Fatalf("SignCheckpoint =\n%s\nwant the body\n%s", signed, body)
	}
	c, n, err := drawlog.VerifyCheckpoint(signed, mustLogVerifier(t, testLogVKey))
	if err != nil {
		t.Fatal(err)
	}
	if c != (drawlog.Checkpoint{Origin: testOrigin, Size: 11, Root: root}) || n.Text != body || len(n.Sigs) != 1 {
		t.Errorf("VerifyCheckpoint = %+v, %+v", c, n)
	}

	if _, _, err := drawlog.VerifyCheckpoint(signed, mustLogVerifier(t, otherLogVKey)); err == nil {
		t.Error("the checkpoint verified with another key of the same name")
	}
	edited := strings.Replace(signed, "\n11\n", "\n12\n", 1)
	if _, _, err := drawlog.VerifyCheckpoint(edited, mustLogVerifier(t, testLogVKey)); err == nil {
		t.Error("an edited checkpoint verified")
	}
	// A key of another name signs a note for the origin of its name only.
	_, vkey, err := note.GenerateKey(nil, "example.com/other-log")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := drawlog.VerifyCheckpoint(signed, mustLogVerifier(t, vkey)); err == nil {
		t.Error("the checkpoint verified with a key of another name")
	}
	if _, err := drawlog.SignCheckpoint(mustSigner(t, testLogKey), "example.com/other-log", 1, root); err == nil {
		t.Error("SignCheckpoint signed for an origin that is not the key's name")
	}
}

func TestParseCheckpointRefuses(t *testing.T) {
	good := drawlog.Checkpoint{Origin: testOrigin, Size: 3, Root: sum("x")}.Body()
	if _, err := drawlog.ParseCheckpoint(good); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"extension line":   good + "extra\n",
		"no final newline": strings.TrimSuffix(good, "\n"),
		"leading zero":     strings.Replace(good, "\n3\n", "\n03\n", 1),
		"negative size":    strings.Replace(good, "\n3\n", "\n-3\n", 1),
		"short root":       testOrigin + "\n3\nAAAA\n",
		"empty origin":     strings.Replace(good, testOrigin, "", 1),
	} {
		if c, err := drawlog.ParseCheckpoint(body); err == nil {
			t.Errorf("%s: ParseCheckpoint(%q) = %+v, want an error", name, body, c)
		}
	}
}

func TestWitnessVerifierKeys(t *testing.T) {
	w := testWitness(t, "witness.example/w1", 1)
	vkey := w.Verifier().String()
	v, err := drawlog.NewWitnessVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != "witness.example/w1" || v.KeyHash() != w.KeyHash() {
		t.Errorf("NewWitnessVerifier = %s+%08x, want %s+%08x", v.Name(), v.KeyHash(), w.Name(), w.KeyHash())
	}
	name, rest, _ := strings.Cut(vkey, "+")
	hash, key, _ := strings.Cut(rest, "+")
	for what, bad := range map[string]string{
		"an Ed25519 note key":  testLogVKey,
		"a wrong key hash":     name + "+00000000+" + key,
		"a renamed key":        "witness.example/w2+" + hash + "+" + key,
		"no hash":              name + "+" + key,
		"a truncated key":      name + "+" + hash + "+" + key[:20],
		"a plus in the name":   "a+b+" + hash + "+" + key,
		"not base64":           name + "+" + hash + "+%%%",
		"an empty key":         "",
		"a log key as witness": otherLogVKey,
	} {
		if _, err := drawlog.NewWitnessVerifier(bad); err == nil {
			t.Errorf("NewWitnessVerifier accepted %s: %q", what, bad)
		}
	}
	if _, err := drawlog.NewLogVerifier(vkey); err == nil {
		t.Error("NewLogVerifier accepted a cosignature/v1 key")
	}
}

// cosign signs the checkpoint note with each witness.
func cosign(t *testing.T, signed string, ws ...note.Signer) string {
	t.Helper()
	n, err := drawlog.OpenNote(signed)
	if err != nil {
		t.Fatal(err)
	}
	out, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.UnverifiedSigs}, ws...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestVerifyCosignatures(t *testing.T) {
	w1, w2, w3 := testWitness(t, "witness.example/w1", 1), testWitness(t, "witness.example/w2", 2), testWitness(t, "witness.example/w3", 3)
	stranger := testWitness(t, "witness.example/stranger", 4)
	witnesses := []note.Verifier{
		mustWitnessVerifier(t, w1.Verifier().String()),
		mustWitnessVerifier(t, w2.Verifier().String()),
		mustWitnessVerifier(t, w3.Verifier().String()),
	}
	signed, err := drawlog.SignCheckpoint(mustSigner(t, testLogKey), testOrigin, 11, sum("root"))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	cosigned := cosign(t, signed, w1, stranger, w3)
	after := time.Now().Add(time.Second)

	_, n, err := drawlog.VerifyCheckpoint(cosigned, mustLogVerifier(t, testLogVKey))
	if err != nil {
		t.Fatal(err)
	}
	got, err := drawlog.VerifyCosignatures(n, witnesses, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "witness.example/w1" || got[1].Name != "witness.example/w3" {
		t.Fatalf("VerifyCosignatures = %+v, want w1 and w3", got)
	}
	for _, c := range got {
		if c.Time.Before(before) || c.Time.After(after) || c.Time.Location() != time.UTC {
			t.Errorf("%s cosigned at %v, want a UTC time between %v and %v", c.Name, c.Time, before, after)
		}
	}

	got, err = drawlog.VerifyCosignatures(n, witnesses, 3)
	var qe *drawlog.QuorumError
	if !errors.As(err, &qe) || *qe != (drawlog.QuorumError{Cosigned: 2, Witnesses: 3, Quorum: 3}) || len(got) != 2 {
		t.Errorf("quorum 3: got %+v, %v; want the two cosignatures and 2 of 3, quorum 3", got, err)
	}
	if err == nil || err.Error() != "drawlog: 2 of 3 witnesses cosigned, quorum is 3" {
		t.Errorf("quorum 3: error %q", err)
	}
	if _, err := drawlog.VerifyCosignatures(n, witnesses, 4); err == nil {
		t.Error("a quorum above the number of witnesses was accepted")
	}
}

func TestVerifyCosignaturesSkipsBadLines(t *testing.T) {
	w1, w2 := testWitness(t, "witness.example/w1", 1), testWitness(t, "witness.example/w2", 2)
	v1, v2 := mustWitnessVerifier(t, w1.Verifier().String()), mustWitnessVerifier(t, w2.Verifier().String())
	signed, err := drawlog.SignCheckpoint(mustSigner(t, testLogKey), testOrigin, 5, sum("root"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := drawlog.OpenNote(cosign(t, signed, w1, w2))
	if err != nil {
		t.Fatal(err)
	}

	// w1's line altered: the signature of a known key fails and is not
	// counted, and w2's still is.
	var forged note.Signature
	for i, s := range n.UnverifiedSigs {
		if s.Name == w1.Name() {
			raw := []byte(s.Base64)
			raw[len(raw)-5] ^= 'A' ^ 'B'
			n.UnverifiedSigs[i].Base64 = string(raw)
			forged = n.UnverifiedSigs[i]
		}
	}
	got, err := drawlog.VerifyCosignatures(n, []note.Verifier{v1, v2}, 1)
	if err != nil || len(got) != 1 || got[0].Name != w2.Name() {
		t.Errorf("with w1's line altered: %+v, %v; want w2 alone", got, err)
	}

	// A witness key of the right name but another key: its line is a
	// stranger's and is not counted.
	wrong := testWitness(t, w2.Name(), 9)
	got, err = drawlog.VerifyCosignatures(n, []note.Verifier{v1, mustWitnessVerifier(t, wrong.Verifier().String())}, 1)
	var qe *drawlog.QuorumError
	if !errors.As(err, &qe) || len(got) != 0 {
		t.Errorf("with w2's key wrong: %+v, %v; want none and a quorum error", got, err)
	}

	// The right key hash over another key's signature does not verify.
	sig := testWitness(t, w1.Name(), 9)
	other, err := note.Sign(&note.Note{Text: n.Text}, sig)
	if err != nil {
		t.Fatal(err)
	}
	on, err := drawlog.OpenNote(string(other))
	if err != nil {
		t.Fatal(err)
	}
	s := on.UnverifiedSigs[0]
	raw, err := base64.StdEncoding.DecodeString(s.Base64)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(raw, v1.KeyHash())
	s.Hash, s.Base64 = v1.KeyHash(), base64.StdEncoding.EncodeToString(raw)
	n.UnverifiedSigs = []note.Signature{forged, s}
	if got, _ := drawlog.VerifyCosignatures(n, []note.Verifier{v1}, 0); len(got) != 0 {
		t.Errorf("a signature by another key under w1's key hash was counted: %+v", got)
	}

	// A cosignature of another checkpoint is not one of this one.
	n2, err := drawlog.OpenNote(cosign(t, strings.Replace(signed, "\n5\n", "\n6\n", 1), w1))
	if err != nil {
		t.Fatal(err)
	}
	n.UnverifiedSigs = n2.UnverifiedSigs
	if got, _ := drawlog.VerifyCosignatures(n, []note.Verifier{v1}, 0); len(got) != 0 {
		t.Errorf("a cosignature of another checkpoint was counted: %+v", got)
	}

	// An Ed25519 note key is not a witness key.
	if _, err := drawlog.VerifyCosignatures(n, []note.Verifier{mustLogVerifier(t, testLogVKey)}, 0); err == nil {
		t.Error("an Ed25519 note key was accepted as a witness")
	}
	if _, err := drawlog.VerifyCosignatures(n, []note.Verifier{v1, v1}, 0); err == nil {
		t.Error("a witness listed twice was accepted")
	}
}

func TestAddSignatures(t *testing.T) {
	w1 := testWitness(t, "witness.example/w1", 1)
	signed, err := drawlog.SignCheckpoint(mustSigner(t, testLogKey), testOrigin, 5, sum("root"))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := drawlog.OpenNote(cosign(t, signed, w1))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := drawlog.OpenNote(signed)
	if err != nil {
		t.Fatal(err)
	}
	out, err := drawlog.AddSignatures(plain, cosigned.UnverifiedSigs...)
	if err != nil {
		t.Fatal(err)
	}
	if want := cosign(t, signed, w1); out != want {
		t.Errorf("AddSignatures =\n%s\nwant\n%s", out, want)
	}
	if strings.Count(out, "— ") != 2 {
		t.Errorf("AddSignatures repeated a line:\n%s", out)
	}
}
