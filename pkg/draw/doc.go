// Package draw implements the verifiable winner draw of a giveaway, in two
// versions. telegive-draw-v1 is a commit-reveal scheme over a Merkle tree of
// the entrants. telegive-draw-v2 also weighs entrants by their tickets,
// takes its randomness from a drand beacon round fixed only after the
// entrants are, and logs every event in the public draw log (package
// drawlog), so that nobody, the operator included, can choose the winners.
// Every v1 record ever published keeps verifying.
//
// From a published record alone anyone can check the commitment, recompute
// the draw seed and, with it, the entrant index of every winner and
// replacement (in v2 also the stream value that picked it). The record
// alone does not show who stands at those indices: that needs the entrant
// list, or an inclusion proof for each winner. [Verify] checks whatever it
// is given; [Unchecked] lists the user ids it took on trust and [Skipped]
// every check it could not make, and a verdict shown to a person must name
// them rather than call the draw verified.
//
// All integers are encoded as 8-byte big-endian (uint64_be); signed ids use
// their two's complement bits. "||" is concatenation. Hashes, seeds and
// signatures are lowercase hex strings in JSON.
//
// # Version 1 (telegive-draw-v1)
//
//  1. Commit. The server draws a 32-byte server_seed at random and publishes
//     commitment = SHA-256(server_seed) before entries close.
//  2. Freeze. The eligible entrants, ascending by user id, are E[0..N-1].
//  3. Entrants root. entrants_root is the RFC 6962 (section 2.1) Merkle Tree
//     Hash over the leaves uint64_be(E[i]): a leaf hashes to
//     SHA-256(0x00 || leaf), an inner node to SHA-256(0x01 || left || right),
//     a list of n > 1 leaves splits at the largest power of two strictly
//     below n, and the empty tree hashes to SHA-256 of the empty string.
//     Inclusion proofs are RFC 6962 audit paths, ordered from the leaf up.
//  4. Seed. draw_seed = HMAC-SHA256(key = server_seed, message =
//     "telegive-draw-v1" || uint64_be(giveaway_id) || entrants_root ||
//     uint64_be(N) || beacon), where beacon is optional public randomness
//     (zero bytes when absent), recorded verbatim.
//  5. Select. Block i = 0, 1, 2, ... of the stream is
//     HMAC-SHA256(key = draw_seed, message = "stream" || uint64_be(i)); each
//     block yields four big-endian uint64 values, in order. uniform(m) takes
//     values x until x < 2^64 - (2^64 mod m) and returns x mod m; when
//     2^64 mod m is 0 every x is accepted, so uniform(1) returns 0 but still
//     consumes one value. A partial Fisher-Yates shuffle runs over the
//     identity permutation perm of 0..N-1: step j sets
//     r = j + uniform(N - j) and swaps perm[j] and perm[r]. With
//     k = min(winner_count, N), steps j = 0..k-1 are run and the winner at
//     position j+1 is E[perm[j]], at entrant index perm[j].
//  6. Replace (see below).
//  7. Reveal. The record (see [Record]) publishes server_seed together with
//     everything needed to repeat steps 4 to 6, and entrants_count and
//     entrants_root, against which the entrant list or a proof shows who
//     stands at each winning index.
//
// A v1 record holds zero or more redraw rounds, applied in order. A round
// disqualifies a non-empty set of distinct user ids, each of which must be
// a current winner (a winner of the initial draw or of an earlier round who
// has not been disqualified). Its disqualified winners are processed in
// ascending order of position. Each takes the next step of the same shuffle
// and stream, continuing at j = k, k+1, ... after whatever earlier rounds
// consumed; a candidate perm[j] whose index is in the cumulative set of
// disqualified indices (this round and all earlier ones) is skipped, the
// skipped step still consuming its j. The replacement takes the
// disqualified winner's position. When j reaches N the entrants have run
// out: that position, and every later one in this or any later round, stays
// empty. Because perm is a permutation and every disqualified entrant was
// drawn from it at an earlier step, the skip cannot actually fire; a
// verifier that implements it anyway stays correct.
//
// A v1 record is a JSON object with version, status, giveaway_id,
// commitment and committed_at; once its status is "drawn" it also holds
// server_seed, entrants_count, entrants_root, beacon, draw_seed,
// winner_count_requested, winners ([{position, user_id, index}]),
// replacements (the rounds: [{disqualified_user_ids, reason, redrawn_at,
// replacements: [{position, user_id, index, replaces_user_id}]}]) and
// drawn_at. A proof is {user_id, leaf_index, tree_size, audit_path,
// entrants_root, is_winner, position}. An absent beacon is the empty
// string. Times are RFC 3339 in UTC. A v1 record never holds a v2 field.
//
// # Version 2 (telegive-draw-v2)
//
// User ids are 1..2^63-1, strictly ascending; entrant i holds t[i] tickets,
// 1..max_tickets, and T = sum(t) is at most 2^53-1 ([MaxTotalTickets]).
// Times are RFC 3339 UTC with whole seconds; computations use their Unix
// seconds.
//
//  1. Commit. As in v1, plus the pinned drand chain (chain_hash; by default
//     League of Entropy's quicknet, see package beacon), beacon_delay (whole
//     seconds, at least one period of the chain, default 10), max_tickets and
//     rules_sha256 (null without rules): all in the giveaway's commit log
//     entry ([Commit], [Record.CommitEntry]).
//  2. Freeze. Registration closes once: E, t, entrants_root, N, T,
//     winner_count and frozen_at go into the freeze entry. beacon_round is
//     the first round of the chain whose time, genesis_time + (round - 1) *
//     period, is at or after frozen_at + beacon_delay ([Record.Freeze],
//     [BeaconRoundAfter]).
//  3. Attest. Before beacon_round's time the freeze entry is in a
//     checkpoint of the draw log cosigned by a quorum of witnesses
//     (cosignature/v1, which carries each witness's time).
//     freeze_attestation holds that signed note and the entry's RFC 6962
//     inclusion proof under it. A verifier counts only cosignatures whose
//     time is at most beacon_round's time minus 3 seconds
//     ([CosignatureMargin]). Without witnesses the record says
//     freeze_attested: false, and the freeze time rests on the operator's
//     word.
//  4. Beacon. The round's signature must be valid as package beacon says
//     (exactly 48 bytes, a canonical compressed G1 point, BLS on the
//     chain's key); randomness = SHA-256(signature), always computed by the
//     verifier. With N = 0 no beacon is awaited: beacon_signature is empty
//     and randomness is SHA-256 of no bytes.
//  5. Seed. draw_seed = HMAC-SHA256(key = server_seed, message =
//     "telegive-draw-v2" || uint64_be(giveaway_id) || entrants_root ||
//     uint64_be(N) || uint64_be(T) || chain_hash || uint64_be(beacon_round)
//     || randomness) ([DrawSeedV2]).
//  6. Select. v1's stream over draw_seed and v1's uniform. With
//     k = min(winner_count, N), repeat: x = uniform(T); the hit is the
//     entrant i with first_ticket[i] <= x < first_ticket[i] + t[i], where
//     first_ticket[i] = t[0] + ... + t[i-1]; if i is not chosen yet it is
//     the next winner (position 1, 2, ...); until k are chosen. A winner is
//     {position, user_id, index, tickets, first_ticket, ticket: x,
//     stream_index}, stream_index counting every value the stream gave, from
//     0, rejected and skipped ones included ([SelectTickets],
//     [Record.DrawWinners]).
//  7. Replace. Redraw round r = 1, 2, ... is first requested
//     ([Record.RequestRedraw]): it disqualifies current winners only, each
//     with a reason from a fixed set ([Reasons]), listed in ascending
//     position, at requested_at, which fixes the round's own beacon round
//     as in step 2; its redraw-request entry is logged and attested as in
//     step 3 (request_attestation). Its stream is block i =
//     HMAC-SHA256(key = draw_seed, message = "redraw" || uint64_be(r) ||
//     randomness_r || "stream" || uint64_be(i)) ([NewRedrawStream]). The
//     chosen set holds every entrant ever chosen, disqualified ones
//     included; each disqualified winner, in ascending position, gets the
//     next unchosen entrant the rule of step 6 hits on the round's stream,
//     which takes its position; when every entrant has been chosen, the
//     position stays empty ([Record.CompleteRedraw]).
//  8. Reveal. The record and the log entries (see below).
//
// # The entrant tree of version 2
//
// A Merkle sum tree with RFC 6962's shape (split at the largest power of
// two below n): leaf i has data uint64_be(E[i]) || uint64_be(t[i]), hash
// SHA-256(0x00 || data) and sum t[i]; the node over left L and right R has
// hash SHA-256(0x01 || L.hash || uint64_be(L.sum) || R.hash ||
// uint64_be(R.sum)) and sum L.sum + R.sum; the empty tree has hash
// SHA-256("") and sum 0 ([SumLeaf], [SumNode], [NewSumTree]).
// entrants_root is the root's hash and its sum is T. An inclusion proof is
// the audit path of {hash, sum} siblings from the leaf upwards, verified by
// the walk of RFC 9162 section 2.1.3.2 with the node hash above;
// first_ticket starts at 0 and adds the sibling's sum each time the walk
// computes node(sibling, current), the sibling standing to the left
// (including where fn == sn). The proof is valid only if the root's hash
// matches, its sum is T, every partial sum is at most T, and first_ticket +
// t is at most T ([VerifyTicketInclusion]). One proof thus shows an
// entrant's place, tickets and ticket range [first_ticket, first_ticket +
// t) without the list. [SumTreeCache] keeps each chunk's root and sum,
// saved with the draw, so that a proof reads one chunk of entrants.
//
// # Records and proofs of version 2
//
// A v2 record's JSON has, by status ([StatusCommitted], [StatusFrozen],
// [StatusDrawn]):
//
//	committed  version, status, giveaway_id, commitment, committed_at,
//	           chain_hash, beacon_delay, max_tickets, rules_sha256
//	frozen     those, and entrants_count, entrants_root, total_tickets,
//	           winner_count_requested, frozen_at, beacon_round,
//	           freeze_attested, freeze_attestation, log; never server_seed
//	drawn      those, and server_seed, beacon_signature, draw_seed,
//	           winners, replacements, drawn_at
//
// winners are [{position, user_id, index, tickets, first_ticket, ticket,
// stream_index}]. replacements are the rounds: [{round, disqualified:
// [{user_id, reason}], requested_at, beacon_round, beacon_signature,
// request_attestation, replacements: [{position, user_id, index, tickets,
// first_ticket, ticket, stream_index, replaces_user_id}], redrawn_at}],
// where an empty position has user_id, index, tickets, first_ticket, ticket
// and stream_index null. An attestation is {checkpoint: the signed note text
// with its cosignature lines, leaf_index, tree_size, audit_path: [hex]}, or
// null. log names the giveaway's log entries in order, [{type, index}]: its
// commit, freeze and draw, then each round's redraw-request and redraw; a
// last redraw-request may name a round still waiting for its beacon. A v2
// record has no beacon field.
//
// A v2 proof is {user_id, tickets, leaf_index, tree_size, first_ticket,
// audit_path: [{hash, sum}], entrants_root, total_tickets, is_winner,
// position}. The v2 entrant list, as the auditor's endpoint serves it, is
// one "user_id tickets" line per entrant, ascending ([ReadEntrantList]).
// The log entries are those of package drawlog, built from the record by
// [Record.CommitEntry], [Record.FreezeEntry], [Record.DrawEntry],
// [Record.RedrawRequestEntry] (or [Redraw.RequestEntry] for a pending
// round) and [Record.RedrawEntry], with seq and prev from the record's log
// list ([Record.LogHeader]).
//
// # Verifying version 2
//
// [Verify] runs, in order: version, status, commitment, chain (the record's
// chain_hash is the pinned chain's: quicknet unless the caller pins
// another), timing (committed_at <= frozen_at <= drawn_at, whole seconds,
// the beacon round not before the freeze), beacon_round (exactly the first
// round at or after frozen_at + beacon_delay), beacon, attestation (the
// checkpoint's log signature, a quorum of cosignatures each at most
// round_time(beacon_round) - 3 s, and the freeze entry, rebuilt from the
// record, included under the checkpoint), total_tickets, entrants (root, N
// and T from the list), draw_seed, winners, replacements (each round's
// times, beacon round, beacon, attestation and replacements), proof and log
// (the log list's layout, and each given entry byte for byte against the
// one rebuilt from the record). Without the entrant list, the winners are
// checked against the ticket ranges the record claims: every stream value a
// selection skips must fall in the range of an entrant chosen before, each
// pick's value in its own range, and the ranges must fit some list of N
// entrants holding 1 to max_tickets tickets each and T in all; the user
// ids and ranges themselves are then taken on trust until the list or
// proofs are given. An attestation is checked only with the log's key and
// the witnesses' keys, and never when the record says it is not attested:
// [Skipped] says so.
//
// A selection may need ever more stream values when nearly every entrant
// is drawn and a few hold most tickets. The drawer and the verifier stop
// at [MaxStreamValues] values per selection rather than run on.
//
// The files testdata/vectors.json (v1) and testdata/vectors-v2.json (v2,
// on real quicknet rounds) hold inputs and every derived value for a set
// of draws, for checking an implementation in another language.
package draw
