// The draw page's only third-party code, bundled into static/noble-curves.js:
// BLS12-381 to verify drand beacons (short signatures on G1, keys on G2) and
// Ed25519 to verify the draw log's checkpoints and the witnesses'
// cosignatures. The page's own checks (lengths, encodings, messages) are in
// static/verify2.js; nothing else of the library is exported.
export { bls12_381 } from '@noble/curves/bls12-381.js';
export { ed25519 } from '@noble/curves/ed25519.js';
