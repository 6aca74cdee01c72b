package drandtest_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/pkg/beacon"
)

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, body
}

func TestChainSignsVerifiableRounds(t *testing.T) {
	c := drandtest.NewChain(t, 2*time.Second, time.Now().Add(-time.Minute))
	if err := c.Info.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Info.BeaconID != drandtest.BeaconID || c.Info.Period != 2*time.Second {
		t.Fatalf("info %+v", c.Info)
	}
	if err := c.Info.VerifyBeacon(c.Beacon(17)); err != nil {
		t.Fatalf("round 17: %v", err)
	}
	if err := c.Info.Verify(17, c.SignWithOtherKey(17)); !errors.Is(err, beacon.ErrSignatureMismatch) {
		t.Fatalf("another key's signature: %v", err)
	}
	if other := drandtest.NewChain(t, 2*time.Second, time.Now()); string(other.Info.Hash) == string(c.Info.Hash) {
		t.Fatal("two chains share a hash")
	}
}

func TestRelayServesDrandAPI(t *testing.T) {
	c := drandtest.NewChain(t, time.Second, time.Now().Add(-10*time.Second))
	base := c.Relay(t, drandtest.Live).URL + "/" + c.Info.HashHex()

	status, info := get(t, base+"/info")
	if status != http.StatusOK || info["hash"] != c.Info.HashHex() || info["schemeID"] != beacon.SchemeUnchainedG1 {
		t.Fatalf("info: %d %v", status, info)
	}
	status, b := get(t, base+"/public/3")
	if status != http.StatusOK || b["round"] != 3.0 || b["signature"] != hex.EncodeToString(c.Sign(3)) {
		t.Fatalf("round 3: %d %v", status, b)
	}
	future := c.Info.FirstRoundAtOrAfter(time.Now().Add(time.Minute))
	if status, _ := get(t, base+"/public/"+strconv.FormatUint(future, 10)); status != http.StatusNotFound {
		t.Fatalf("a future round: status %d, expected 404", status)
	}
	status, latest := get(t, base+"/public/latest")
	if r, ok := latest["round"].(float64); status != http.StatusOK || !ok || r < 10 || uint64(r) >= future {
		t.Fatalf("latest: %d %v", status, latest)
	}
	if status, _ := get(t, c.Relay(t, drandtest.Honest).URL+"/"+hex.EncodeToString(make([]byte, 32))+"/info"); status != http.StatusNotFound {
		t.Fatalf("another chain's info: status %d, expected 404", status)
	}
}

func TestRelayModes(t *testing.T) {
	c := drandtest.NewChain(t, time.Second, time.Now().Add(-10*time.Second))
	path := "/" + c.Info.HashHex() + "/public/5"

	lying := c.Relay(t, drandtest.Lying)
	_, b := get(t, lying.URL+path)
	sig, _ := hex.DecodeString(b["signature"].(string))
	if err := c.Info.Verify(5, sig); !errors.Is(err, beacon.ErrSignatureMismatch) {
		t.Fatalf("lying relay's signature: %v", err)
	}
	wrong := c.Relay(t, drandtest.WrongRound)
	_, b = get(t, wrong.URL+path)
	if b["round"] != 5.0 || b["signature"] != hex.EncodeToString(c.Sign(4)) {
		t.Fatalf("wrong-round relay: %v", b)
	}
	failing := c.Relay(t, drandtest.Failing)
	if status, _ := get(t, failing.URL+path); status != http.StatusInternalServerError || failing.Requests() != 1 {
		t.Fatalf("failing relay: status %d, %d requests", status, failing.Requests())
	}
	slow := c.Relay(t, drandtest.Slow(300*time.Millisecond))
	start := time.Now()
	if status, _ := get(t, slow.URL+path); status != http.StatusOK || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("slow relay: status %d after %v", status, time.Since(start))
	}
	down := c.Relay(t, drandtest.Down)
	if _, err := http.Get(down.URL + path); err == nil {
		t.Fatal("a down relay answered")
	}
}
