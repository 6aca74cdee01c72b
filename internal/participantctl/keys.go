package participantctl

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/drawlog"
)

type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// trustFlags are the keys a v2 verifier pins: the drand chain, the draw
// log's key, and the witnesses' keys with their quorum.
type trustFlags struct {
	chainInfo *string
	logKey    *string
	logFlag   string
	witnesses stringList
	quorum    *int
}

// addTrustFlags defines --chain-info, the log key flag (named logFlag),
// --witness-key and --quorum.
func addTrustFlags(fs *flag.FlagSet, logFlag, logUsage string) *trustFlags {
	t := &trustFlags{logFlag: logFlag}
	t.chainInfo = fs.String("chain-info", "", "drand chain info file (the JSON of a relay's /{chain_hash}/info) to pin instead of quicknet, for a test or private chain")
	t.logKey = fs.String(logFlag, "", logUsage)
	fs.Var(&t.witnesses, "witness-key", "a witness's cosignature/v1 verifier key, name+hash+base64 (repeatable)")
	t.quorum = fs.Int("quorum", 0, "how many of the --witness-key witnesses must have cosigned (default: all of them)")
	return t
}

// pinnedChain is the drand chain a verifier relies on.
type pinnedChain struct {
	// chain is nil for quicknet, the default.
	chain *beacon.Chain
	// describe names the chain and how it came to be pinned.
	describe string
}

func (p pinnedChain) info() beacon.Chain {
	if p.chain != nil {
		return *p.chain
	}
	return beacon.Quicknet()
}

// loadChain reads --chain-info, or pins quicknet.
func (t *trustFlags) loadChain() (pinnedChain, error) {
	if *t.chainInfo == "" {
		return pinnedChain{describe: "quicknet " + beacon.Quicknet().HashHex() + " (League of Entropy mainnet, pinned by default)"}, nil
	}
	data, err := os.ReadFile(*t.chainInfo)
	if err != nil {
		return pinnedChain{}, err
	}
	c, err := beacon.ParseInfo(data)
	if err != nil {
		return pinnedChain{}, fmt.Errorf("--chain-info %s: %w", *t.chainInfo, err)
	}
	what := "not quicknet"
	if bytes.Equal(c.Hash, beacon.Quicknet().Hash) {
		what = "quicknet"
	}
	return pinnedChain{chain: &c, describe: fmt.Sprintf("%s (%s, beacon id %q, pinned with --chain-info %s)", c.HashHex(), what, c.BeaconID, *t.chainInfo)}, nil
}

// trust is the keys a v2 check uses, and which of them were not pinned by
// the user but taken from the service.
type trust struct {
	logKey      note.Verifier
	logKeyText  string
	witnesses   []note.Verifier
	witnessText []string
	// quorum is how many witnesses must cosign; 0 means all.
	quorum int
	// unpinned names each key taken from the service, with why it matters.
	unpinned []string
}

// pinned parses the keys given as flags; those not given stay empty.
func (t *trustFlags) pinned() (trust, error) {
	var out trust
	if *t.logKey != "" {
		v, err := drawlog.NewLogVerifier(*t.logKey)
		if err != nil {
			return trust{}, fmt.Errorf("--%s: %w", t.logFlag, err)
		}
		out.logKey, out.logKeyText = v, *t.logKey
	}
	if err := out.addWitnesses(t.witnesses); err != nil {
		return trust{}, fmt.Errorf("--witness-key: %w", err)
	}
	if *t.quorum < 0 || *t.quorum > len(out.witnesses) {
		return trust{}, fmt.Errorf("--quorum %d: give between 1 and the number of --witness-key flags (%d)", *t.quorum, len(out.witnesses))
	}
	out.quorum = *t.quorum
	return out, nil
}

func (tr *trust) addWitnesses(keys []string) error {
	seen := make(map[string]bool)
	for _, k := range keys {
		v, err := drawlog.NewWitnessVerifier(k)
		if err != nil {
			return err
		}
		if seen[v.Name()] {
			return fmt.Errorf("two witness keys are named %s", v.Name())
		}
		seen[v.Name()] = true
		tr.witnesses = append(tr.witnesses, v)
		tr.witnessText = append(tr.witnessText, k)
	}
	return nil
}

// quorumCount is the number of witnesses that must cosign.
func (tr trust) quorumCount() int {
	if tr.quorum == 0 {
		return len(tr.witnesses)
	}
	return tr.quorum
}

// fillFromService takes the keys the user did not pin from the service's
// /log/key, and records that they were not pinned: a service that lies
// about its own keys would pass every check made with them.
func (tr *trust) fillFromService(ctx context.Context, c *client.Client, needWitnesses bool) error {
	if tr.logKey != nil && (len(tr.witnesses) > 0 || !needWitnesses) {
		return nil
	}
	k, err := c.LogKey(ctx)
	if err != nil {
		return fmt.Errorf("fetch the log key: %w", err)
	}
	if tr.logKey == nil {
		v, err := drawlog.NewLogVerifier(k.VerifierKey)
		if err != nil {
			return fmt.Errorf("the service's log key: %w", err)
		}
		tr.logKey, tr.logKeyText = v, k.VerifierKey
		tr.unpinned = append(tr.unpinned, fmt.Sprintf("log key %s was taken from the service (/log/key), not pinned with --log-key: a service that signs a log of its own making with its own key would pass", k.VerifierKey))
	}
	if needWitnesses && len(tr.witnesses) == 0 {
		var keys []string
		for _, w := range k.Witnesses {
			keys = append(keys, w.VerifierKey)
		}
		if err := tr.addWitnesses(keys); err != nil {
			return fmt.Errorf("the service's witness keys: %w", err)
		}
		if k.Quorum < 0 || k.Quorum > len(tr.witnesses) {
			return fmt.Errorf("the service's quorum %d of %d witnesses", k.Quorum, len(tr.witnesses))
		}
		tr.quorum = k.Quorum
		what := "no witness keys either"
		if len(keys) > 0 {
			what = fmt.Sprintf("witness keys %s and quorum %d", strings.Join(keys, ", "), tr.quorumCount())
		}
		tr.unpinned = append(tr.unpinned, fmt.Sprintf("the service gave %s (/log/key), not pinned with --witness-key: witnesses of the service's choosing vouch for nothing", what))
	}
	return nil
}

// errEntryMissing says the log does not hold an entry.
var errEntryMissing = errors.New("the log does not hold it")

// fetchEntry returns the log entry at index, as the service serves it.
func fetchEntry(ctx context.Context, c *client.Client, index uint64) ([]byte, error) {
	es, err := c.LogEntries(ctx, index, index+1)
	if err != nil {
		return nil, err
	}
	switch {
	case len(es) == 0:
		return nil, errEntryMissing
	case len(es) > 1 || es[0].Index != index:
		return nil, fmt.Errorf("asked for entry %d, the service answered with %d entries starting at %d", index, len(es), es[0].Index)
	}
	return es[0].Data, nil
}

// checkpointRoot returns the checkpoint of a signed note, checking the
// log's signature.
func checkpointRoot(noteText string, logKey note.Verifier) (drawlog.Checkpoint, error) {
	cp, _, err := drawlog.VerifyCheckpoint(noteText, logKey)
	return cp, err
}

// proofError says why a Merkle proof failed, without the hash dumps of
// the library's message.
func proofError(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "calculated root") {
		return "the proof leads to another root"
	}
	first, _, _ := strings.Cut(msg, "\n")
	return first
}

// oneLine makes a reason fit the one line of its FAILED or FAULT: the
// merkle package's mismatched roots, printed over four lines as byte
// lists, become a phrase, and any other line break a space.
func oneLine(msg string) string {
	if i := strings.Index(msg, "calculated root:\n"); i >= 0 {
		msg = msg[:i] + "the proof leads to another root"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}
