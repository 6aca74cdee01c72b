// Package drawlog implements telegive-log-v1, the public append-only log of
// every event of every giveaway's draw, v1 or v2: its entries, its RFC 6962
// tree and proofs, its checkpoints and their witness cosignatures, and the
// per-giveaway rules a monitor or verifier checks. It imports nothing of the
// service, so anyone can verify a log with it.
//
// # Entries
//
// An entry is a JSON object written in RFC 8785 canonical form (JCS: members
// sorted by their UTF-16 code units, no insignificant white space, strings
// escaped only where JSON requires, numbers in their shortest ECMAScript
// form). Implementations must produce these bytes exactly; [Parse] refuses
// any other encoding of the same object. Value encodings:
//
//   - id (giveaway_id, user_id): a JSON string of the decimal value,
//     1..2^63-1, no sign or leading zero ("9223372036854775807"), because an
//     RFC 8785 number is an IEEE double and cannot hold every int64;
//   - number (seq, prev, round, beacon_round, beacon_delay, max_tickets,
//     entrants_count, total_tickets, winner_count): a JSON integer in
//     0..2^53-1;
//   - hash (commitment, chain_hash, rules_sha256, entrants_root, server_seed,
//     draw_seed, record_sha256): 32 bytes as 64 lowercase hex characters;
//   - time: RFC 3339 in UTC with whole seconds, "2026-12-01T10:00:05Z".
//
// Every entry has the members type, giveaway_id, seq (the giveaway's event
// number, 0 for its first entry) and prev (the log index of the giveaway's
// previous entry, null for its first), and exactly the members below for its
// type; "or null" marks the only members that may be null.
//
//	commit          commitment, version, chain_hash or null, beacon_delay,
//	                max_tickets, rules_sha256 or null, committed_at
//	freeze          commitment, entrants_root, entrants_count, total_tickets,
//	                winner_count, beacon_round or null, frozen_at
//	draw            server_seed, draw_seed, beacon_round or null,
//	                winners (array of user ids: position 1 first), drawn_at
//	redraw-request  round, disqualified (array of {"reason", "user_id"}),
//	                beacon_round or null, requested_at
//	redraw          round, replacements (array of user ids or null),
//	                redrawn_at
//	legacy          record_sha256
//
// For example (one line in the log; wrapped here):
//
//	{"beacon_round":null,"draw_seed":"…","drawn_at":"2026-12-01T10:00:07Z",
//	 "giveaway_id":"42","prev":5,"seq":2,
//	 "server_seed":"…","type":"draw","winners":["101","7"]}
//
// version is "telegive-draw-v1" or "telegive-draw-v2" and fixes the
// giveaway's protocol. A v2 commit names its chain_hash, a beacon_delay of at
// least 1 and a max_tickets of at least 1. A v1 giveaway logs the same
// commit, freeze and draw entries (and a redraw-request then a redraw for
// each replacement round) with the values v1 has: chain_hash null,
// beacon_delay 0, max_tickets 1, total_tickets equal to entrants_count, and
// beacon_round null in the freeze, the draw and every redraw-request. The
// optional caller beacon of v1 is not an entry member; the draw_seed it went
// into is. rules_sha256 is null when a giveaway has no rules.
//
// A draw lists min(winner_count, entrants_count) winners. A redraw-request
// lists current winners (winners not yet disqualified, or replacements) in
// ascending order of their positions, each with a non-empty reason; its
// redraw lists, in the same order, the user id that takes each one's
// position, or null when no unchosen entrant was left. A legacy entry stands
// for a v1 record that existed before the log: record_sha256 is the SHA-256
// of that record's RFC 8785 canonical JSON ([RecordSHA256]). It is that
// giveaway's first entry; later events of the giveaway follow it as usual.
//
// # Rules
//
// Per giveaway, in log order ([Checker], [CheckGiveawayHistory]): the first
// entry is a commit or a legacy, with seq 0 and prev null, and there is no
// second one; each later entry has seq one more than the previous one and
// prev its log index; at most one freeze, before the draw; at most one draw,
// after the freeze, whose server_seed hashes to the freeze's commitment,
// which is the commit's; redraw-requests after the draw with rounds 1, 2, ...,
// each followed by its redraw before the next request. After a legacy entry
// a giveaway may instead go straight to redraw rounds (its record was drawn
// outside the log), starting at any round.
//
// # Tree and proofs
//
// The log is an RFC 6962 Merkle tree over the entries' bytes: leaf hash
// SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right), the empty
// tree SHA-256(""). Inclusion and consistency proofs are those of RFC 6962
// section 2.1 (RFC 9162 section 2.1.3 and 2.1.4 give the verification walks).
//
// # Checkpoints
//
// A checkpoint is the C2SP tlog-checkpoint body: the origin (by default
// "telegive.org/participant-service/draw-log"), the tree size in decimal and
// the root hash in standard base64, each line ending in a newline, with no
// extension lines. It is wrapped in a C2SP signed note signed by the log's
// Ed25519 key, whose name is the origin; its verifier key is
// name+hash+base64(0x01 || public key), pinned by verifiers out of band.
// Witnesses add C2SP tlog-cosignature cosignature/v1 lines, each carrying
// the witness's time; their verifier keys are name+hash+base64(0x04 ||
// public key).
package drawlog
