// What the draw page trusts without asking the server: the drand chain a
// telegive-draw-v2 draw must use, and the keys of the draw logs and their
// witnesses that this deployment has published. Everything else the page
// checks comes from the server and is verified against these.
//
// The page is served by the same service it checks, so these pins are only
// worth what this file is: the committed one, which anyone can compare
// with the repository (the page's assets are plain files, not built).

// QUICKNET is League of Entropy's mainnet quicknet chain
// (schemeID bls-unchained-g1-rfc9380): signatures on G1, the key on G2.
// chain_hash = SHA-256(uint32_be(period) || int64_be(genesis_time) ||
// public_key || group_hash || beacon_id), as the tests check.
export const QUICKNET = Object.freeze({
  name: 'quicknet',
  hash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  publicKey: '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  genesisTime: 1692803367n,
  period: 3n,
  groupHash: 'f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e',
  beaconId: 'quicknet',
  scheme: 'bls-unchained-g1-rfc9380',
  dst: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_',
});

// PINNED_LOGS lists the draw logs whose keys this deployment publishes out
// of band (its README or documentation): for each, the log's note verifier
// key (its name is the log's origin), its witnesses' cosignature/v1
// verifier keys and how many of them must cosign. A deployment adds its
// own here, for example
//
//   {
//     verifierKey: 'telegive.org/participant-service/draw-log+8e9dea39+AepK…',
//     witnesses: ['witness.example/one+b0bbd8d6+BIhL…', 'witness.example/two+4b0b676a+BKCa…'],
//     quorum: 2,
//   },
//
// With no entry for a log, the page uses the keys the service itself
// serves at /api/participants/log/key, and says that they are the
// service's word.
export const PINNED_LOGS = Object.freeze([]);
