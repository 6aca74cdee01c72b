package api

import "github.com/telegive/participant-service/pkg/draw"

// LogKeyResponse answers GET /api/participants/log/key: the draw log's
// origin, its note verifier key and its witnesses, as the service states
// them. Verifiers pin the keys out of band; this is what to compare them
// with.
type LogKeyResponse struct {
	Success bool `json:"success"`
	// Origin names the log; the log key's name is the same string.
	Origin string `json:"origin"`
	// VerifierKey is the log's Ed25519 note verifier key.
	VerifierKey string       `json:"verifier_key"`
	Witnesses   []LogWitness `json:"witnesses"`
	// Quorum is how many witnesses must cosign a checkpoint in time.
	Quorum int `json:"quorum"`
}

// LogWitness is one witness of the draw log.
type LogWitness struct {
	Name string `json:"name"`
	// VerifierKey is its cosignature/v1 key, name+hash+base64(0x04 || key).
	VerifierKey string `json:"verifier_key"`
	URL         string `json:"url"`
}

// LogEntriesResponse answers GET /api/participants/log/entries.
type LogEntriesResponse struct {
	Success bool       `json:"success"`
	Entries []LogEntry `json:"entries"`
}

// LogEntry is one entry of the draw log: its index and its bytes (base64
// in JSON), the RFC 8785 canonical JSON the log's tree hashes.
type LogEntry struct {
	Index uint64 `json:"index"`
	Data  []byte `json:"data"`
}

// LogInclusionResponse answers GET
// /api/participants/log/proof/inclusion: the RFC 6962 audit path, leaf
// upwards, in hex.
type LogInclusionResponse struct {
	Success   bool        `json:"success"`
	AuditPath []draw.Hash `json:"audit_path"`
}

// LogConsistencyResponse answers GET
// /api/participants/log/proof/consistency: the RFC 6962 consistency proof,
// in hex.
type LogConsistencyResponse struct {
	Success bool        `json:"success"`
	Proof   []draw.Hash `json:"proof"`
}
