// Package draw implements telegive-draw-v1, the verifiable winner draw of a
// giveaway: a commit-reveal scheme over a Merkle tree of the entrants, from
// which anyone holding the published record can recompute the winners
// offline.
//
// # Protocol
//
// All integers are encoded as 8-byte big-endian (uint64_be); signed ids use
// their two's complement bits. "||" is concatenation.
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
//     everything needed to repeat steps 3 to 6.
//
// # Replacement rule
//
// A record holds zero or more redraw rounds, applied in order. A round
// disqualifies a non-empty set of distinct user ids, each of which must be a
// current winner (a winner of the initial draw or of an earlier round who has
// not been disqualified). Its disqualified winners are processed in
// ascending order of position. Each takes the next step of the same shuffle
// and stream, continuing at j = k, k+1, ... after whatever earlier rounds
// consumed; a candidate perm[j] whose index is in the cumulative set of
// disqualified indices (this round and all earlier ones) is skipped, the
// skipped step still consuming its j. The replacement takes the disqualified
// winner's position. When j reaches N the entrants have run out: that
// position, and every later one in this or any later round, stays empty.
//
// Because perm is a permutation and every disqualified entrant was drawn from
// it at an earlier step, the skip cannot actually fire; a verifier that
// implements it anyway stays correct.
//
// # Encoding
//
// A record is a JSON object with version, status, giveaway_id, commitment and
// committed_at; once its status is "drawn" it also holds server_seed,
// entrants_count, entrants_root, beacon, draw_seed, winner_count_requested,
// winners ([{position, user_id, index}]), replacements (the rounds:
// [{disqualified_user_ids, reason, redrawn_at, replacements: [{position,
// user_id, index, replaces_user_id}]}]) and drawn_at. A proof is {user_id,
// leaf_index, tree_size, audit_path, entrants_root, is_winner, position}.
// Hashes, seeds and the beacon are lowercase hex strings; an absent beacon
// is the empty string. Times are RFC 3339 in UTC.
//
// The file testdata/vectors.json holds inputs and every derived value for a
// set of draws, for checking an implementation in another language.
package draw
