// What the draw page trusts without asking the server: the drand chains a
// telegive-draw-v2 draw may use, and the keys of the draw logs and their
// witnesses that this deployment has published. Everything else the page
// checks comes from the server and is verified against these.
//
// The page is served by the same service it checks, so these pins are only
// worth what this file is: the committed one, which anyone can compare
// with the repository (the page's assets are plain files, not built). A
// deployment that pins its own keys commits them here, in its own build of
// the service, and publishes the same keys apart from the service (its
// README, its documentation, its channel), where participants can compare.

// QUICKNET is League of Entropy's mainnet quicknet chain
// (schemeID bls-unchained-g1-rfc9380): signatures on G1, the key on G2.
// chain_hash = SHA-256(uint32_be(period) || int64_be(genesis_time) ||
// public_key || group_hash || beacon_id), as the tests check.
export const QUICKNET = Object.freeze({
  name: 'quicknet',
  network: 'League of Entropy\'s public drand network',
  hash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  publicKey: '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  genesisTime: 1692803367n,
  period: 3n,
  groupHash: 'f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e',
  beaconId: 'quicknet',
  scheme: 'bls-unchained-g1-rfc9380',
  dst: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_',
});

// PINNED_CHAINS lists the drand chains a draw may use; the page refuses a
// record on any other. A record names its chain by hash, and a chain here
// is used only if its parameters give that hash. A private network is
// added as quicknet is written above, from its /info (schemeID
// bls-unchained-g1-rfc9380 only); the page never takes a chain from the
// service or from its address.
export const PINNED_CHAINS = Object.freeze([QUICKNET]);

// PINNED_LOGS lists the draw logs whose keys this deployment publishes out
// of band: for each, the log's note verifier key (its name is the log's
// origin, LOG_ORIGIN), its witnesses' cosignature/v1 verifier keys
// (WITNESS_KEYS, in the same order) and how many of them must cosign
// (WITNESS_QUORUM, at least 1). The log's verifier key is what
// `participant-service log-keygen` printed beside LOG_SIGNING_KEY, which the
// service also logs at start-up ("draw log key") and serves at
// /api/participants/log/key. A deployment pins its own like this:
//
//   export const PINNED_LOGS = Object.freeze([
//     {
//       verifierKey: 'telegive.org/participant-service/draw-log+8e9dea39+AepK…',
//       witnesses: ['witness.example/one+b0bbd8d6+BIhL…', 'witness.example/two+4b0b676a+BKCa…'],
//       quorum: 2,
//     },
//   ]);
//
// With a log pinned, the page checks the witnesses' cosignatures with these
// keys, fails a draw whose service serves other keys or another quorum,
// and says "Verified" when every check passes. With no entry for a log, it
// checks them with the keys the service serves, says that they are the
// service's word ("Checked, trusting this service's log and witness
// keys", in amber), and shows them for the participant to compare with
// the published ones.
export const PINNED_LOGS = Object.freeze([]);
