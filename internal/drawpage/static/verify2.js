// Verifier of telegive-draw-v2 draws, written from the protocol text
// ("Version 2" of the verifiable draw specification), for the draw page and
// for Node 20 (the vectors test).
//
// As verify.js does for v1, it recomputes everything it states: the beacon's
// BLS signature against the pinned drand chain, the randomness (SHA-256 of
// the signature, never read from anywhere), the round the draw had to wait
// for, the draw seed, every ticket the stream hits, each participant's
// ticket range from their sum-tree proof, and the freeze entry of the draw
// log, rebuilt from the record in RFC 8785 form and proven to be under a
// checkpoint signed by the log and cosigned by witnesses in time. Integers
// are BigInts (parseJSON), hashes WebCrypto's SHA-256; BLS12-381 and Ed25519
// come from noble-curves.js, the bundled @noble/curves.
//
// Results are plain data ({id, title, status, detail}); status 'trust' is a
// check that found nothing wrong but rests on someone's word, which is never
// reported as verified.

import { bls12_381, ed25519 } from './noble-curves.js';
import {
  CheckFailure, FormatError, concat, equalBytes, formatTime, fromHex, hmacKey, hmacSha256, hmacWith,
  integer, list, parseTime, plural, rootFromAuditPath, sha256, skipped, text, toHex, uint64be, uniform, unverifiedDraw,
} from './verify.js';
import { PINNED_CHAINS, PINNED_LOGS } from './pins.js';
import { RulesNotChecked, checkRecheck, checkRules, parseRecheck } from './rules.js';

export const VERSION_V2 = 'telegive-draw-v2';

const utf8 = new TextEncoder();
const TWO_64 = 1n << 64n;
const MAX_SAFE = (1n << 53n) - 1n; // T and every count in a v2 record
const SAFE = [0n, MAX_SAFE];
const COUNT = [1n, MAX_SAFE];
const UINT64 = [0n, TWO_64 - 1n];
const ID = [1n, (1n << 63n) - 1n];
const POSITION = [1n, MAX_SAFE];
const NS = 1000000000n;

// A selection may read at most 2^28 stream values (the protocol's bound);
// a record claiming more is wrong. The page replays at most 2^20 per
// selection, about a second of hashing: beyond that it says it did not
// check, rather than keep a phone busy for minutes.
export const MAX_STREAM_VALUES = 1n << 28n;
export const PAGE_STREAM_VALUES = 1n << 20n;

// A counted cosignature is made at most this long before the beacon
// round's time.
export const COSIGNATURE_MARGIN = 3n;

// The reasons a v2 winner may be disqualified for, in words.
export const REASONS = Object.freeze({
  not_subscribed: 'not subscribed to the channel',
  admin: 'an admin of the channel',
  premium_required: 'no Telegram Premium',
  account_too_new: 'account too new',
  fraud: 'fraud',
  unreachable: 'could not be reached',
  declined: 'declined the prize',
  rules_violation: 'broke the giveaway\'s rules',
});

function fail(reason) {
  throw new CheckFailure(reason);
}

// A NotChecked is a check the page chose not to run to the end.
class NotChecked extends Error {}

const hex32 = (v, what) => fromHex(v, what, 32);
const short = (bytes) => `${toHex(bytes).slice(0, 16)}…`;
const fmtInt = (n) => BigInt(n).toLocaleString('en');

function obj(v, what) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(`${what} is not an object`);
  return v;
}

function bool(v, what) {
  if (typeof v !== 'boolean') throw new FormatError(`${what} is not true or false`);
  return v;
}

// wholeTime reads a record's time, which is whole seconds; s is its Unix
// seconds as a BigInt.
function wholeTime(v, what) {
  const t = parseTime(v, what);
  if (t.ns % NS !== 0n) throw new FormatError(`${what} has fractions of a second`);
  return { ...t, s: t.ns / NS };
}

// ---------------------------------------------------------------------------
// The chain and its beacons

// The one scheme a telegive-draw-v2 chain may have, and its hash-to-curve
// domain separation tag.
export const SCHEME = 'bls-unchained-g1-rfc9380';
export const DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

export function chainHash(chain) {
  const period = new Uint8Array(4);
  new DataView(period.buffer).setUint32(0, Number(chain.period));
  const genesis = new Uint8Array(8);
  new DataView(genesis.buffer).setBigInt64(0, chain.genesisTime);
  const id = chain.beaconId === 'default' ? new Uint8Array() : utf8.encode(chain.beaconId);
  return sha256(period, genesis, fromHex(chain.publicKey, 'public key'), fromHex(chain.groupHash, 'group hash'), id);
}

// roundTime is when round r is published: genesis_time + (r - 1) * period.
export function roundTime(chain, r) {
  return r <= 1n ? chain.genesisTime : chain.genesisTime + (r - 1n) * chain.period;
}

// firstRoundAtOrAfter is the first round published at or after Unix second s.
export function firstRoundAtOrAfter(chain, s) {
  if (s <= chain.genesisTime) return 1n;
  const d = s - chain.genesisTime;
  return 1n + d / chain.period + (d % chain.period === 0n ? 0n : 1n);
}

const unixTime = (s) => formatTime({ ns: s * NS });

const publicKeys = new Map();
function chainKey(chain) {
  if (!publicKeys.has(chain.publicKey)) {
    const p = bls12_381.G2.Point.fromBytes(fromHex(chain.publicKey, 'the chain\'s public key', 96));
    p.assertValidity();
    publicKeys.set(chain.publicKey, p);
  }
  return publicKeys.get(chain.publicKey);
}

// verifyBeacon checks that sig is round r's beacon of chain: exactly 48
// bytes (checked before the library sees it: some libraries accept
// trailing bytes or the 96-byte form, which would let the server choose
// among several "randomness" values), the canonical compressed encoding of
// a G1 point that is not the identity and is in the prime-order subgroup,
// and a BLS signature by the chain's key over SHA-256(uint64_be(r)) with
// hash-to-curve RFC 9380 under the chain's DST.
export async function verifyBeacon(chain, r, sig) {
  if (sig.length !== 48) fail(`the beacon signature is ${sig.length} bytes; a ${chain.name} signature is exactly 48 bytes`);
  const ss = bls12_381.shortSignatures;
  let point;
  try {
    point = ss.Signature.fromBytes(sig);
  } catch (e) {
    fail(`the beacon signature is not a compressed point of G1's prime-order subgroup (${e.message})`);
  }
  if (point.is0()) fail('the beacon signature is the identity point, which is no signature');
  if (!equalBytes(ss.Signature.toBytes(point), sig)) fail('the beacon signature is not in its one canonical encoding');
  const message = await sha256(uint64be(r));
  let ok = false;
  try {
    ok = ss.verify(point, ss.hash(message, DST), chainKey(chain));
  } catch {
    ok = false;
  }
  if (!ok) fail(`the beacon signature is not ${chain.name}'s signature of round ${r}`);
}

export const randomnessOf = (sig) => sha256(sig);

// pinnedChain returns the chain of chains whose hash is hashHex, or null
// when none is. A pinned chain is used only if it is one this page can
// verify (scheme SCHEME, a period of whole seconds) and its parameters
// give its hash by the chain-hash rule: an edit of pins.js that changes a
// key but not the hash, or the other way round, is refused.
export async function pinnedChain(hashHex, chains = PINNED_CHAINS) {
  const c = chains.find((x) => x.hash === hashHex);
  if (!c) return null;
  if (c.scheme !== SCHEME) fail(`the chain ${c.name} is pinned with the scheme ${c.scheme}; this page verifies ${SCHEME} only`);
  if (typeof c.period !== 'bigint' || c.period < 1n || typeof c.genesisTime !== 'bigint') {
    fail(`the chain ${c.name} is pinned without a period of whole seconds and a genesis time`);
  }
  const got = toHex(await chainHash(c));
  if (got !== c.hash) fail(`the chain ${c.name} is pinned with parameters whose chain hash is ${got}, not its pinned hash ${c.hash}`);
  return c;
}

// ---------------------------------------------------------------------------
// Streams, seed and sum tree

// A SeedStream yields the uint64s of HMAC-SHA256(seed, prefix ||
// uint64_be(i)) for blocks i = 0, 1, ..., four big-endian values a block.
export class SeedStream {
  #key;
  #prefix;
  #block = 0n;
  #view = null;
  #offset = 32;
  consumed = 0n;

  constructor(cryptoKey, prefix) {
    this.#key = cryptoKey;
    this.#prefix = prefix;
  }

  // The initial draw's stream: prefix "stream".
  static async draw(seed) {
    return new SeedStream(await hmacKey(seed), utf8.encode('stream'));
  }

  // Redraw round r's stream: "redraw" || uint64_be(r) || randomness_r ||
  // "stream".
  static async redraw(seed, r, randomness) {
    return new SeedStream(await hmacKey(seed), concat([utf8.encode('redraw'), uint64be(r), randomness, utf8.encode('stream')]));
  }

  async next() {
    if (this.#offset === 32) {
      const block = await hmacWith(this.#key, [this.#prefix, uint64be(this.#block)]);
      this.#view = new DataView(block.buffer);
      this.#block += 1n;
      this.#offset = 0;
    }
    const value = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    this.consumed += 1n;
    return value;
  }
}

// drawSeedV2 is HMAC-SHA256(server_seed, "telegive-draw-v2" ||
// uint64_be(giveaway_id) || entrants_root || uint64_be(N) || uint64_be(T) ||
// chain_hash || uint64_be(beacon_round) || randomness).
export function drawSeedV2({ serverSeed, giveawayId, entrantsRoot, entrantsCount, totalTickets, chainHash: ch, beaconRound, randomness }) {
  return hmacSha256(serverSeed, utf8.encode(VERSION_V2), uint64be(giveawayId), entrantsRoot, uint64be(entrantsCount),
    uint64be(totalTickets), ch, uint64be(beaconRound), randomness);
}

// Merkle sum tree: leaf SHA-256(0x00 || uint64_be(id) || uint64_be(t)),
// node SHA-256(0x01 || L.hash || uint64_be(L.sum) || R.hash ||
// uint64_be(R.sum)).
export async function sumLeaf(userId, tickets) {
  return { hash: await sha256(Uint8Array.of(0), uint64be(userId), uint64be(tickets)), sum: tickets };
}

export async function sumNode(l, r) {
  return { hash: await sha256(Uint8Array.of(1), l.hash, uint64be(l.sum), r.hash, uint64be(r.sum)), sum: l.sum + r.sum };
}

// sumRoot is the root over a whole list; the page never has one, the
// vectors test does.
export async function sumRoot(ids, tickets) {
  const range = async (lo, hi) => {
    const n = hi - lo;
    if (n === 0) return { hash: await sha256(), sum: 0n };
    if (n === 1) return sumLeaf(ids[lo], tickets[lo]);
    let k = 1;
    while (2 * k < n) k *= 2;
    return sumNode(await range(lo, lo + k), await range(lo + k, hi));
  };
  return range(0, ids.length);
}

// ticketInclusion walks a sum-tree audit path ({hash, sum} siblings, leaf
// upwards) by RFC 9162 section 2.1.3.2 and returns the entrant's first
// ticket: the sum of every sibling that stands to its left. It fails unless
// the root and its sum match, every partial sum stays within T, and the
// entrant's tickets end within T.
export async function ticketInclusion({ userId, tickets, index, size, path, root, total }) {
  if (index >= size) fail(`leaf index ${index} is not below the tree size ${size}`);
  if (total > MAX_SAFE) fail(`a total of ${total} tickets is more than 2^53 - 1`);
  if (tickets < 1n || tickets > total) fail(`${tickets} tickets of a total of ${total}`);
  let fn = index;
  let sn = size - 1n;
  let h = await sumLeaf(userId, tickets);
  let first = 0n;
  for (const p of path) {
    if (sn === 0n) fail(`the audit path has ${path.length} nodes, more than a tree of ${size} needs`);
    if (p.sum > total || h.sum + p.sum > total) fail(`the partial sum ${h.sum} + ${p.sum} is more than the total of ${total} tickets`);
    if ((fn & 1n) === 1n || fn === sn) {
      h = await sumNode(p, h);
      first += p.sum;
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      h = await sumNode(h, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail(`the audit path has ${path.length} nodes, fewer than a tree of ${size} needs`);
  if (!equalBytes(h.hash, root)) fail(`the audit path leads to ${short(h.hash)}, not to the entrants root ${short(root)}`);
  if (h.sum !== total) fail(`the audit path adds up to ${h.sum} tickets, the record has ${total}`);
  if (first + tickets > total) fail(`tickets ${first} to ${first + tickets - 1n} run past the total of ${total}`);
  return first;
}

// ---------------------------------------------------------------------------
// The draw log: canonical entries, signed notes, cosignatures

// canonicalJSON writes RFC 8785 (JCS) for the values a log entry holds:
// strings, integers up to 2^53 - 1 (BigInts), null, arrays and objects, with
// members sorted by UTF-16 code units (JavaScript's default sort) and
// strings escaped as JSON.stringify does, which is what RFC 8785 specifies.
export function canonicalJSON(v) {
  if (v === null) return 'null';
  if (typeof v === 'bigint') {
    if (v < 0n || v > MAX_SAFE) throw new RangeError(`${v} is not a number a log entry holds`);
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJSON(v[k])}`).join(',')}}`;
  }
  throw new TypeError(`a log entry holds no ${typeof v}`);
}

// The entries a drawn v2 record implies, at position j of its log list:
// ids as decimal strings, hashes as lowercase hex, times in whole seconds.
function header(rec, j) {
  return { giveaway_id: String(rec.giveawayId), seq: BigInt(j), prev: j > 0 ? rec.log[j - 1].index : null };
}

function logPosition(rec, type, nth) {
  for (const [j, ref] of rec.log.entries()) {
    if (ref.type === type && --nth === 0) return j;
  }
  return -1;
}

export function logEntries(rec) {
  const out = [];
  const at = (j) => header(rec, j);
  out.push({ type: 'commit', ...at(0), commitment: toHex(rec.commitment), version: VERSION_V2, chain_hash: toHex(rec.chainHash),
    beacon_delay: rec.beaconDelay, max_tickets: rec.maxTickets, rules_sha256: rec.rulesSha256 && toHex(rec.rulesSha256),
    committed_at: formatTime(rec.committedAt) });
  out.push(freezeEntry(rec, 1));
  out.push({ type: 'draw', ...at(2), server_seed: toHex(rec.serverSeed), draw_seed: toHex(rec.drawSeed), beacon_round: rec.beaconRound,
    winners: rec.winners.map((w) => String(w.userId)), drawn_at: formatTime(rec.drawnAt) });
  for (const [n, rd] of rec.rounds.entries()) {
    out.push(requestEntry(rec, 3 + 2 * n, rd));
    out.push({ type: 'redraw', ...at(4 + 2 * n), round: rd.round, replacements: rd.replacements.map((p) => (p.empty ? null : String(p.userId))),
      redrawn_at: formatTime(rd.redrawnAt) });
  }
  return out;
}

export function freezeEntry(rec, j) {
  return { type: 'freeze', ...header(rec, j), commitment: toHex(rec.commitment), entrants_root: toHex(rec.entrantsRoot),
    entrants_count: rec.entrantsCount, total_tickets: rec.totalTickets, winner_count: rec.winnerCountRequested,
    beacon_round: rec.beaconRound, frozen_at: formatTime(rec.frozenAt) };
}

function requestEntry(rec, j, rd) {
  return { type: 'redraw-request', ...header(rec, j), round: rd.round,
    disqualified: rd.disqualified.map((d) => ({ user_id: String(d.userId), reason: d.reason })),
    beacon_round: rd.beaconRound, requested_at: formatTime(rd.requestedAt) };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function fromBase64(s, what) {
  if (typeof s !== 'string' || !BASE64.test(s)) throw new CheckFailure(`${what} is not base64`);
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

export function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

// A note signer's name: non-empty, no white space, no "+".
const validName = (name) => name !== '' && !/[\s+]/u.test(name);

async function keyHash(name, type, key) {
  const h = await sha256(utf8.encode(`${name}\n`), Uint8Array.of(type), key);
  return new DataView(h.buffer).getUint32(0);
}

// parseVerifierKey reads a signed-note verifier key, name+hash+base64(type
// || Ed25519 key): type 0x01 for the log's note key, 0x04 for a witness's
// cosignature/v1 key. The hash must be the one the name and key give.
export async function parseVerifierKey(vkey, type, what) {
  const m = typeof vkey === 'string' ? /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey) : null;
  if (!m || !validName(m[1])) throw new CheckFailure(`${what} ${JSON.stringify(vkey)} is not name+hash+key`);
  const raw = fromBase64(m[3], `${what} ${m[1]}`);
  if (raw.length !== 33 || raw[0] !== type) {
    throw new CheckFailure(`${what} ${m[1]} is not a ${type === 1 ? 'note (Ed25519)' : 'cosignature/v1'} key`);
  }
  const key = raw.slice(1);
  const hash = await keyHash(m[1], type, key);
  if (hash !== parseInt(m[2], 16)) throw new CheckFailure(`${what} ${m[1]}: the key hash ${m[2]} is not the name's and key's`);
  return { name: m[1], hash, key, text: vkey };
}

// openNote splits a C2SP signed note into its text and signature lines.
export function openNote(msg) {
  if (typeof msg !== 'string' || msg.length > 65536) fail('the checkpoint is not a note of at most 64 KiB');
  // eslint-disable-next-line no-control-regex
  if (!msg.isWellFormed() || /[\u0000-\u0009\u000b-\u001f]/.test(msg)) fail('the checkpoint note holds control characters or is not UTF-8');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) fail('the checkpoint note has no signature block');
  const noteText = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) fail('the checkpoint note\'s signature block is malformed');
  const sigs = block.slice(0, -1).split('\n').map((line) => {
    if (!line.startsWith('\u2014 ')) fail('a checkpoint signature line does not start with "— "');
    const rest = line.slice(2);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b64 = sp < 0 ? '' : rest.slice(sp + 1);
    if (!validName(name) || b64 === '') fail('a checkpoint signature line is malformed');
    const raw = fromBase64(b64, `the signature of ${name}`);
    if (raw.length < 5) fail(`the signature of ${name} is too short`);
    return { name, hash: new DataView(raw.buffer).getUint32(0), sig: raw.slice(4) };
  });
  if (sigs.length > 100) fail('the checkpoint note has more than 100 signatures');
  return { text: noteText, sigs };
}

// parseCheckpoint reads a C2SP tlog-checkpoint body without extension
// lines, in its one encoding.
export function parseCheckpoint(body) {
  const m = /^([^\n]+)\n(0|[1-9][0-9]{0,18})\n([A-Za-z0-9+/]{43}=)\n$/.exec(body);
  if (!m || m[1].trim() !== m[1]) fail('the checkpoint body is not origin, size and root hash, one line each');
  const size = BigInt(m[2]);
  const root = fromBase64(m[3], 'the checkpoint\'s root hash');
  if (size >= 1n << 63n || toBase64(root) !== m[3]) fail('the checkpoint body is not in its one encoding');
  return { origin: m[1], size, root };
}

function ed25519Verify(key, msg, sig) {
  try {
    return ed25519.verify(sig, msg, key, { zip215: false });
  } catch {
    return false;
  }
}

// cosignatureTime returns the time a witness's cosignature/v1 line states,
// if it verifies: the line holds uint64_be(time) || Ed25519 signature of
// "cosignature/v1\ntime <time>\n" || the checkpoint body.
function cosignatureTime(noteText, sig, key) {
  if (sig.length !== 72) return null;
  const t = new DataView(sig.buffer, sig.byteOffset).getBigUint64(0);
  if (t >= 1n << 63n) return null;
  const msg = utf8.encode(`cosignature/v1\ntime ${t}\n${noteText}`);
  return ed25519Verify(key, msg, sig.slice(8)) ? t : null;
}

// checkAttestation checks that an attestation puts the entry (its bytes) at
// log index `index` under a checkpoint signed by the log key and cosigned
// by a quorum of the witnesses at most COSIGNATURE_MARGIN seconds before
// beaconTime, the Unix second its beacon round is published. It returns
// the checkpoint and the counted cosignatures.
export async function checkAttestation(att, entry, index, beaconTime, keys) {
  const note = openNote(att.checkpoint);
  const log = keys.log;
  const own = note.sigs.find((s) => s.name === log.name && s.hash === log.hash);
  if (!own) fail(`the checkpoint is not signed by the log key ${log.name}+${log.hash.toString(16).padStart(8, '0')}`);
  if (!ed25519Verify(log.key, utf8.encode(note.text), own.sig)) fail('the log\'s signature on the checkpoint does not verify');
  const cp = parseCheckpoint(note.text);
  if (cp.origin !== log.name) fail(`the checkpoint's origin ${cp.origin} is not the log key's name ${log.name}`);
  if (att.treeSize !== cp.size) fail(`the checkpoint is of ${cp.size} entries, the attestation says ${att.treeSize}`);
  if (att.leafIndex !== index) fail(`the record's log puts the entry at index ${index}, the attestation at ${att.leafIndex}`);
  const deadline = beaconTime - COSIGNATURE_MARGIN;
  const timely = [];
  const late = [];
  for (const w of keys.witnesses) {
    let best = null;
    for (const s of note.sigs) {
      if (s.name !== w.name || s.hash !== w.hash) continue;
      const t = cosignatureTime(note.text, s.sig, w.key);
      if (t !== null && (best === null || t < best)) best = t;
    }
    if (best === null) continue;
    (best <= deadline ? timely : late).push({ name: w.name, time: best });
  }
  if (timely.length < keys.quorum) {
    const lateText = late.length ? `; too late: ${late.map((c) => `${c.name} at ${unixTime(c.time)}`).join(', ')}` : '';
    fail(`${timely.length} of ${keys.witnesses.length} witnesses cosigned by ${unixTime(deadline)} (3 s before the beacon), ` +
      `${keys.quorum} must${lateText}`);
  }
  const leaf = await sha256(Uint8Array.of(0), utf8.encode(entry));
  const root = await rootFromAuditPath(leaf, att.leafIndex, att.treeSize, att.auditPath);
  if (!equalBytes(root, cp.root)) fail(`the entry rebuilt from the record, ${entry}, is not in the checkpoint: its audit path leads elsewhere`);
  return { checkpoint: cp, cosigners: timely, deadline };
}

// ---------------------------------------------------------------------------
// Reading the record

function parsePick(v, what) {
  obj(v, what);
  return {
    position: Number(integer(v.position, `${what}: position`, POSITION)),
    userId: integer(v.user_id, `${what}: user_id`, ID),
    index: integer(v.index, `${what}: index`, UINT64),
    tickets: integer(v.tickets, `${what}: tickets`, UINT64),
    first: integer(v.first_ticket, `${what}: first_ticket`, UINT64),
    ticket: integer(v.ticket, `${what}: ticket`, UINT64),
    streamIndex: integer(v.stream_index, `${what}: stream_index`, UINT64),
  };
}

// An empty position has user_id null; the protocol writes its other
// members null too.
function parseReplacement(v, what, round) {
  obj(v, what);
  const replaces = integer(v.replaces_user_id, `${what}: replaces_user_id`, ID);
  if (v.user_id === null) {
    const rest = ['index', 'tickets', 'first_ticket', 'ticket', 'stream_index'].filter((k) => v[k] !== null && v[k] !== 0n && v[k] !== undefined);
    return { position: Number(integer(v.position, `${what}: position`, POSITION)), empty: true, stray: rest, replaces, round };
  }
  return { ...parsePick(v, what), empty: false, replaces, round };
}

function parseAttestation(v, what) {
  if (v === null) return null;
  obj(v, what);
  return {
    checkpoint: text(v.checkpoint, `${what}: checkpoint`),
    leafIndex: integer(v.leaf_index, `${what}: leaf_index`, UINT64),
    treeSize: integer(v.tree_size, `${what}: tree_size`, UINT64),
    auditPath: list(v.audit_path, `${what}: audit_path`).map((h, i) => hex32(h, `${what}: audit path hash ${i + 1}`)),
  };
}

function parseRound(v, n) {
  const what = `redraw round ${n + 1}`;
  obj(v, what);
  const round = integer(v.round, `${what}: round`, COUNT);
  return {
    round,
    disqualified: list(v.disqualified, `${what}: disqualified`).map((d, i) => ({
      userId: integer(obj(d, `${what}: disqualified ${i + 1}`).user_id, `${what}: disqualified ${i + 1}: user_id`, ID),
      reason: text(d.reason, `${what}: disqualified ${i + 1}: reason`),
    })),
    requestedAt: wholeTime(v.requested_at, `${what}: requested_at`),
    beaconRound: integer(v.beacon_round, `${what}: beacon_round`, UINT64),
    beaconSignature: fromHex(v.beacon_signature, `${what}: beacon_signature`),
    attestation: parseAttestation(v.request_attestation, `${what}: request_attestation`),
    replacements: list(v.replacements, `${what}: replacements`).map((r, i) => parseReplacement(r, `${what}, replacement ${i + 1}`, n + 1)),
    redrawnAt: wholeTime(v.redrawn_at, `${what}: redrawn_at`),
  };
}

// parseDrawnRecordV2 reads a drawn v2 record into bytes and BigInts, or
// throws a FormatError naming the first field that is wrong.
export function parseDrawnRecordV2(raw, expectedGiveawayId) {
  obj(raw, 'the record');
  if (raw.version !== VERSION_V2) throw new FormatError(`version is ${JSON.stringify(raw.version)}, not ${VERSION_V2}`);
  if (raw.status !== 'drawn') throw new FormatError(`status is ${JSON.stringify(raw.status)}, not "drawn"`);
  const giveawayId = integer(raw.giveaway_id, 'giveaway_id', ID);
  if (expectedGiveawayId !== undefined && giveawayId !== expectedGiveawayId) {
    throw new FormatError(`the record is for giveaway ${giveawayId}, this page is for giveaway ${expectedGiveawayId}`);
  }
  if (raw.beacon !== undefined) throw new FormatError(`a ${VERSION_V2} record has no caller beacon`);
  return {
    version: VERSION_V2,
    giveawayId,
    commitment: hex32(raw.commitment, 'commitment'),
    committedAt: wholeTime(raw.committed_at, 'committed_at'),
    chainHash: hex32(raw.chain_hash, 'chain_hash'),
    beaconDelay: integer(raw.beacon_delay, 'beacon_delay', UINT64),
    maxTickets: integer(raw.max_tickets, 'max_tickets', UINT64),
    rulesSha256: raw.rules_sha256 === null ? null : hex32(raw.rules_sha256, 'rules_sha256'),
    entrantsCount: integer(raw.entrants_count, 'entrants_count', SAFE),
    entrantsRoot: hex32(raw.entrants_root, 'entrants_root'),
    totalTickets: integer(raw.total_tickets, 'total_tickets', UINT64),
    winnerCountRequested: integer(raw.winner_count_requested, 'winner_count_requested', UINT64),
    frozenAt: wholeTime(raw.frozen_at, 'frozen_at'),
    beaconRound: integer(raw.beacon_round, 'beacon_round', UINT64),
    freezeAttested: bool(raw.freeze_attested, 'freeze_attested'),
    freezeAttestation: parseAttestation(raw.freeze_attestation, 'freeze_attestation'),
    serverSeed: fromHex(raw.server_seed, 'server_seed'),
    beaconSignature: fromHex(raw.beacon_signature, 'beacon_signature'),
    drawSeed: hex32(raw.draw_seed, 'draw_seed'),
    winners: list(raw.winners, 'winners').map((w, i) => ({ ...parsePick(w, `winner ${i + 1}`), round: 0 })),
    rounds: list(raw.replacements, 'replacements').map(parseRound),
    drawnAt: wholeTime(raw.drawn_at, 'drawn_at'),
    log: list(raw.log, 'log').map((r, i) => ({
      type: text(obj(r, `log entry ${i + 1}`).type, `log entry ${i + 1}: type`),
      index: integer(r.index, `log entry ${i + 1}: index`, UINT64),
    })),
    // The service's statement, read by its own check: a malformed one
    // fails that check, not the reading of the record.
    recheckRaw: raw.recheck,
  };
}

export function parseProofV2(raw, what = 'the proof') {
  obj(raw, what);
  if (raw.tickets === undefined) throw new FormatError(`${what} is a v1 proof (no tickets) for a ${VERSION_V2} record`);
  return {
    userId: integer(raw.user_id, `${what}: user_id`, ID),
    tickets: integer(raw.tickets, `${what}: tickets`, COUNT),
    leafIndex: integer(raw.leaf_index, `${what}: leaf_index`, UINT64),
    treeSize: integer(raw.tree_size, `${what}: tree_size`, UINT64),
    first: integer(raw.first_ticket, `${what}: first_ticket`, UINT64),
    auditPath: list(raw.audit_path, `${what}: audit_path`).map((n, i) => ({
      hash: hex32(obj(n, `${what}: audit path node ${i + 1}`).hash, `${what}: audit path node ${i + 1}: hash`),
      sum: integer(n.sum, `${what}: audit path node ${i + 1}: sum`, SAFE),
    })),
    entrantsRoot: hex32(raw.entrants_root, `${what}: entrants_root`),
    totalTickets: integer(raw.total_tickets, `${what}: total_tickets`, SAFE),
    isWinner: bool(raw.is_winner, `${what}: is_winner`),
    position: Number(integer(raw.position, `${what}: position`, SAFE)),
  };
}

// parseLogKeys reads the answer of /api/participants/log/key (pkg/api's
// LogKeyResponse): the log's origin and note verifier key, whose name is
// the origin; its witnesses, each {name, verifier_key, url} with the name
// its key's; and the quorum. An answer that contradicts itself is refused.
export function parseLogKeys(raw) {
  obj(raw, 'the log keys');
  const keyName = (k) => k.split('+')[0];
  const origin = text(raw.origin, 'origin');
  const verifierKey = text(raw.verifier_key, 'verifier_key');
  if (keyName(verifierKey) !== origin) throw new FormatError(`the log key is named ${keyName(verifierKey)}, not for the origin ${origin}`);
  const witnesses = list(raw.witnesses, 'witnesses').map((w, i) => {
    const what = `witness ${i + 1}`;
    const key = text(obj(w, what).verifier_key, `${what}: verifier_key`);
    const name = text(w.name, `${what}: name`);
    if (keyName(key) !== name) throw new FormatError(`${what} is named ${name}, but its key is ${keyName(key)}'s`);
    return key;
  });
  const quorum = Number(integer(raw.quorum, 'quorum', SAFE));
  if (quorum > witnesses.length) throw new FormatError(`a quorum of ${quorum} of ${witnesses.length} witnesses`);
  return { origin, verifierKey, witnesses, quorum };
}

// ---------------------------------------------------------------------------
// Replaying the selection from the record's own claims

// A Replay re-derives the winners and replacements without the entrant
// list: each stream value x = uniform(T) must fall, when it is passed over,
// in the ticket range of an entrant chosen before, and when it picks, in
// the range the record claims for the pick; and the claimed ranges must fit
// some list of N entrants holding 1 to max_tickets tickets each, T in all.
// Who holds a range is tied to it by the inclusion proofs, not here. Every
// value drawn is kept (hits), so a participant can see that none of their
// own tickets was drawn and passed over.
class Replay {
  constructor(rec) {
    this.rec = rec;
    this.chosen = new Set(); // entrant indices
    this.users = new Set(); // every user ever chosen
    this.spans = []; // claimed ranges of the chosen, ascending
    this.seats = new Map(); // position -> pick
    this.byUser = new Map(); // user -> position
    this.hits = []; // {x, streamIndex, round, pick}
    this.claims = []; // every pick ever made
  }

  async winners() {
    const r = this.rec;
    if (r.winnerCountRequested < 1n || r.winnerCountRequested > MAX_SAFE) fail(`winner_count_requested is ${r.winnerCountRequested}, expected 1 to 2^53 - 1`);
    const k = r.winnerCountRequested < r.entrantsCount ? r.winnerCountRequested : r.entrantsCount;
    if (BigInt(r.winners.length) !== k) fail(`min(${r.winnerCountRequested} requested, ${r.entrantsCount} entrants) = ${k} winners are due, the record lists ${r.winners.length}`);
    const st = await SeedStream.draw(r.drawSeed);
    for (const [j, w] of r.winners.entries()) {
      if (w.position !== j + 1) fail(`winner ${j + 1} is listed at position ${w.position}`);
      const why = await this.take(st, w, false, 0);
      if (why) fail(`position ${w.position}: ${why}`);
      this.seats.set(w.position, w);
      this.byUser.set(w.userId, w.position);
    }
    return st.consumed;
  }

  async round(n, randomness) {
    const rd = this.rec.rounds[n];
    const bad = (why) => fail(`round ${n + 1}: ${why}`);
    if (rd.round !== BigInt(n + 1)) bad(`it is numbered ${rd.round}`);
    if (rd.disqualified.length === 0) bad('it disqualifies nobody');
    const gone = [];
    let last = 0;
    for (const d of rd.disqualified) {
      const pos = this.byUser.get(d.userId);
      if (!Object.hasOwn(REASONS, d.reason)) bad(`user ${d.userId}: ${JSON.stringify(d.reason)} is not a reason a winner can be disqualified for`);
      if (pos === undefined) bad(`user ${d.userId} is not a current winner`);
      if (pos <= last) bad(`the disqualified winners are not listed once each in ascending position (user ${d.userId} at position ${pos})`);
      last = pos;
      gone.push(this.seats.get(pos));
    }
    if (rd.replacements.length !== gone.length) bad(`${gone.length} replacements are due, one per disqualified winner, the record lists ${rd.replacements.length}`);
    for (const w of gone) {
      this.seats.delete(w.position);
      this.byUser.delete(w.userId);
    }
    const st = await SeedStream.redraw(this.rec.drawSeed, rd.round, randomness);
    for (const [i, w] of gone.entries()) {
      const p = rd.replacements[i];
      if (p.position !== w.position) bad(`replacement ${i + 1}: position ${w.position} is due, the record says ${p.position}`);
      if (p.replaces !== w.userId) bad(`position ${w.position}: replaces user ${w.userId}, the record says ${p.replaces}`);
      if (p.empty && p.stray.length) bad(`position ${w.position} is empty (user_id null) but records ${p.stray.join(', ')}`);
      const why = await this.take(st, p, p.empty, n + 1);
      if (why) bad(`position ${w.position}: ${why}`);
      if (!p.empty) {
        this.seats.set(p.position, p);
        this.byUser.set(p.userId, p.position);
      }
    }
  }

  current() {
    return [...this.seats.values()].sort((a, b) => a.position - b.position);
  }

  async take(st, pick, empty, round) {
    const left = this.rec.entrantsCount - BigInt(this.chosen.size);
    if (left === 0n && !empty) return `every entrant was chosen before, so the position stays empty, but the record names user ${pick.userId}`;
    if (left === 0n) return '';
    if (empty) return `${left} entrants are still unchosen, but the record leaves the position empty`;
    if (pick.streamIndex >= MAX_STREAM_VALUES) return `stream index ${pick.streamIndex} is beyond the ${MAX_STREAM_VALUES} values a selection may read`;
    if (pick.streamIndex >= PAGE_STREAM_VALUES) {
      throw new NotChecked(`the record needs more than ${fmtInt(PAGE_STREAM_VALUES)} stream values, more than this page replays; ` +
        'check it with participantctl verify-draw');
    }
    if (pick.streamIndex < st.consumed) return `stream index ${pick.streamIndex} does not follow the previous pick's (${st.consumed} values read)`;
    const why = await this.takeClaimed(st, pick, round);
    if (why) return why;
    if (this.users.has(pick.userId)) return `user ${pick.userId} was chosen before`;
    this.users.add(pick.userId);
    this.claims.push(pick);
    return '';
  }

  async takeClaimed(st, pick, round) {
    const total = this.rec.totalTickets;
    if (total === 0n || total > MAX_SAFE) return `no selection over a total of ${total} tickets`;
    const rejected = `stream value ${pick.streamIndex} is rejected by uniform(T = ${total}), so no pick has that stream index`;
    for (;;) {
      if (st.consumed > pick.streamIndex) return rejected;
      const x = await uniform(st, total);
      const si = st.consumed - 1n;
      if (si > pick.streamIndex) return rejected;
      if (this.inChosen(x)) {
        if (si === pick.streamIndex) return `stream value ${si} is ticket ${x}, held by an entrant chosen before`;
        this.hits.push({ x, streamIndex: si, round, pick: null });
        continue;
      }
      if (si < pick.streamIndex) {
        return `stream value ${si} is ticket ${x}, which no entrant chosen before holds, so it picks this position, not stream value ${pick.streamIndex}`;
      }
      if (x !== pick.ticket) return `stream value ${si} is ticket ${x}, the record says ${pick.ticket}`;
      if (x < pick.first || x - pick.first >= pick.tickets) return `ticket ${x} is not among user ${pick.userId}'s tickets ${pick.first} to ${pick.first + pick.tickets - 1n}`;
      const why = this.addSpan(pick);
      if (why) return why;
      this.chosen.add(pick.index);
      this.hits.push({ x, streamIndex: si, round, pick });
      return '';
    }
  }

  inChosen(x) {
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) { // the first span whose first ticket is above x
      const mid = (lo + hi) >> 1;
      if (this.spans[mid].first > x) hi = mid;
      else lo = mid + 1;
    }
    if (lo === 0) return false;
    const sp = this.spans[lo - 1];
    return x - sp.first < sp.tickets;
  }

  addSpan(sp) {
    const { entrantsCount: n, totalTickets: total, maxTickets: most } = this.rec;
    if (sp.tickets < 1n || sp.tickets > most) return `entrant index ${sp.index} holds ${sp.tickets} tickets, not 1 to max_tickets (${most})`;
    if (sp.index >= n) return `index ${sp.index} is not below entrants_count ${n}`;
    if (sp.first > total || sp.tickets > total - sp.first) return `entrant index ${sp.index}'s tickets ${sp.first} to ${sp.first + sp.tickets - 1n} run past T = ${total}`;
    let pos = 0;
    while (pos < this.spans.length && this.spans[pos].index < sp.index) pos++;
    if (pos < this.spans.length && this.spans[pos].index === sp.index) return `entrant index ${sp.index} was chosen before`;
    // The entrants strictly between two chosen ones (or an end) hold the
    // tickets strictly between their ranges, 1 to max_tickets each.
    const gap = (what, entrants, loTicket, hiTicket) => {
      if (hiTicket < loTicket) return `entrant index ${sp.index}'s tickets overlap those of ${what}`;
      const t = hiTicket - loTicket;
      if (t < entrants || t > entrants * most) {
        return `entrant index ${sp.index}'s tickets leave ${t} tickets to the ${entrants} entrants between it and ${what}, who hold 1 to ${most} each`;
      }
      return '';
    };
    const before = pos > 0 ? this.spans[pos - 1] : null;
    const after = pos < this.spans.length ? this.spans[pos] : null;
    const why = (before ? gap(`entrant index ${before.index}`, sp.index - before.index - 1n, before.first + before.tickets, sp.first)
      : gap('the start of the list', sp.index, 0n, sp.first)) ||
      (after ? gap(`entrant index ${after.index}`, after.index - sp.index - 1n, sp.first + sp.tickets, after.first)
        : gap('the end of the list', n - 1n - sp.index, sp.first + sp.tickets, total));
    if (why) return why;
    this.spans.splice(pos, 0, { index: sp.index, first: sp.first, tickets: sp.tickets });
    return '';
  }
}

// currentWinnersV2 applies the record's rounds as it states them, checking
// nothing: for display when the replay could not run.
export function currentWinnersV2(rec) {
  const seats = new Map(rec.winners.map((w) => [w.position, w]));
  for (const rd of rec.rounds) {
    for (const p of rd.replacements) {
      seats.delete(p.position);
      if (!p.empty) seats.set(p.position, p);
    }
  }
  return [...seats.values()].sort((a, b) => a.position - b.position);
}

// ---------------------------------------------------------------------------
// Checks

async function check(id, title, fn) {
  try {
    const r = await fn();
    return typeof r === 'string' ? { id, title, status: 'pass', detail: r } : { id, title, ...r };
  } catch (e) {
    if (e instanceof NotChecked) return { id, title, status: 'skip', detail: `not checked: ${e.message}` };
    const detail = e instanceof CheckFailure ? e.message : `could not be checked: ${e.message}`;
    return { id, title, status: 'fail', detail };
  }
}

export const DRAW_CHECKS_V2 = [
  ['record', 'Record'],
  ['commitment', 'Commitment'],
  ['chain', 'Randomness source'],
  ['timing', 'Timing'],
  ['beacon-round', 'Beacon round'],
  ['beacon', 'Beacon signature'],
  ['attestation', 'Witnesses'],
  ['keys', 'Witness keys'],
  ['tickets', 'Tickets'],
  ['rules', 'Rules'],
  ['draw-seed', 'Draw seed'],
  ['winners', 'Winners'],
  ['replacements', 'Redraws'],
  ['identities', 'Winner identities'],
  ['recheck', 'Re-check at the draw'],
  ['log', 'Log references'],
];
const TITLE = Object.fromEntries(DRAW_CHECKS_V2);

// resolveKeys picks the keys the attestations are checked with: the
// page's pinned keys for the log named origin when it has them (and says
// whether the service serves the same), else the service's own.
async function resolveKeys(origin, served, pins) {
  const pin = pins.find((p) => typeof p.verifierKey === 'string' && p.verifierKey.split('+')[0] === origin);
  const load = async (k, source) => {
    const log = await parseVerifierKey(k.verifierKey, 1, 'the log key');
    const witnesses = [];
    for (const w of k.witnesses) {
      const v = await parseVerifierKey(w, 4, 'the witness key');
      if (witnesses.some((x) => x.name === v.name && x.hash === v.hash)) throw new CheckFailure(`the witness key ${v.name} is listed twice`);
      witnesses.push(v);
    }
    const quorum = k.quorum ?? witnesses.length;
    if (witnesses.length === 0) throw new CheckFailure('no witness keys are known for the log');
    if (!Number.isInteger(quorum) || quorum < 1 || quorum > witnesses.length) {
      throw new CheckFailure(`a quorum of ${quorum} of ${witnesses.length} witnesses: at least one must cosign`);
    }
    return { log, witnesses, quorum, source };
  };
  let servedKeys = null;
  let servedError = null;
  if (served instanceof Error) servedError = served.message;
  else if (served) {
    try {
      servedKeys = parseLogKeys(served);
    } catch (e) {
      servedError = e.message;
    }
  } else servedError = 'they were not fetched';
  if (pin) {
    const keys = await load(pin, 'pinned');
    let mismatch = null;
    if (servedKeys) {
      const same = servedKeys.verifierKey === pin.verifierKey && servedKeys.witnesses.length === pin.witnesses.length &&
        servedKeys.witnesses.every((w, i) => w === pin.witnesses[i]) && (servedKeys.quorum ?? servedKeys.witnesses.length) === keys.quorum;
      if (!same) mismatch = 'the service serves other keys or another quorum than those pinned in this page';
    }
    return { keys, servedError, mismatch };
  }
  if (!servedKeys) return { keys: null, servedError };
  return { keys: await load(servedKeys, 'server'), servedError: null };
}

function keyList(keys) {
  return `the log key ${keys.log.text} and the witness keys ${keys.witnesses.map((w) => w.text).join(', ')} (quorum ${keys.quorum})`;
}

// verifyDrawV2 runs every check of a drawn v2 record. winnerProofs is the
// raw proofs array of /draw/winner-proofs, or an Error saying why it could
// not be had; logKeys the raw answer of /api/participants/log/key, or an
// Error. rules is the parsed answer of /api/participants/{id}/rules, or an
// Error; left undefined, committed rules are not checked. pins defaults to
// the page's pinned logs, chains to its pinned chains (quicknet): the
// record's chain must be one of them.
export async function verifyDrawV2(raw, { giveawayId, winnerProofs, logKeys, rules, pins = PINNED_LOGS, chains = PINNED_CHAINS } = {}) {
  let rec;
  const record = await check('record', 'Record', () => {
    rec = parseDrawnRecordV2(raw, giveawayId);
    return `a ${VERSION_V2} record of giveaway ${rec.giveawayId}: ${plural(rec.entrantsCount, 'entrant')} holding ` +
      `${plural(rec.totalTickets, 'ticket')}, ${plural(rec.winners.length, 'winner')}, ${plural(rec.rounds.length, 'redraw round')}`;
  });
  if (!rec) {
    const rest = DRAW_CHECKS_V2.slice(1).map(([id, title]) => skipped(id, title, 'the record could not be read'));
    return { version: 2, checks: [record, ...rest], record: null, winners: [], facts: null };
  }

  let chain = null;
  let chainError = 'the record\'s chain is not pinned in this page';
  try {
    chain = await pinnedChain(toHex(rec.chainHash), chains);
  } catch (e) {
    chainError = e.message;
  }
  // Whatever needs the chain's key or clock runs only on a pinned chain.
  const needChain = () => {
    if (!chain) throw new NotChecked(`${chainError}, so nothing that needs the chain's key or clock is checked`);
  };
  const facts = {
    chain: chain ? chain.name : null,
    roundTime: chain ? roundTime(chain, rec.beaconRound) : null,
    attestation: null, // the freeze's checkpoint and cosigners, once checked
    keySource: null,
    keys: null, // the log and witness keys the attestations were checked with
    disqualified: rec.rounds.flatMap((rd) => rd.disqualified.map((d) => ({ ...d, round: Number(rd.round) }))),
    rules: null, // {committed, rules}: the rules read, once checked (or the defaults the service states)
    recheck: null, // the service's re-check, once it agrees with the record
  };
  const checks = [record];
  const add = async (id, fn) => {
    const c = await check(id, TITLE[id], fn);
    checks.push(c);
    return c;
  };

  await add('commitment', async () => {
    if (rec.serverSeed.length !== 32) fail(`the server seed is ${rec.serverSeed.length} bytes, not 32`);
    const got = await sha256(rec.serverSeed);
    if (!equalBytes(got, rec.commitment)) fail(`SHA-256 of the revealed seed is ${toHex(got)}, but the commitment is ${toHex(rec.commitment)}`);
    return 'SHA-256 of the revealed server seed equals the commitment published when the giveaway opened';
  });

  await add('chain', () => {
    if (!chain) {
      const names = chains.map((c) => `${c.name} (${c.hash})`).join(', ');
      fail(chainError === 'the record\'s chain is not pinned in this page'
        ? `the record's chain is ${toHex(rec.chainHash)}, not a chain pinned in this page, which accepts ${names} only` : chainError);
    }
    return `drand's ${chain.name} beacon (chain ${chain.hash.slice(0, 16)}…), pinned in this page: ` +
      `${chain.network ?? 'a drand network'} publishing unpredictable randomness every ${chain.period} s`;
  });

  await add('timing', () => {
    const [c, f, d] = [rec.committedAt, rec.frozenAt, rec.drawnAt];
    if (c.s > f.s) fail(`committed at ${formatTime(c)}, after entries closed at ${formatTime(f)}`);
    if (f.s > d.s) fail(`entries closed at ${formatTime(f)}, after the draw at ${formatTime(d)}`);
    needChain();
    if (facts.roundTime < f.s) fail(`beacon round ${rec.beaconRound} was published at ${unixTime(facts.roundTime)}, before entries closed at ${formatTime(f)}`);
    return `committed at ${formatTime(c)}, entries closed at ${formatTime(f)}, drawn at ${formatTime(d)}`;
  });

  await add('beacon-round', () => {
    needChain();
    if (rec.beaconDelay < (chain.period > 1n ? chain.period : 1n) || rec.beaconDelay > MAX_SAFE) {
      fail(`beacon_delay is ${rec.beaconDelay} s, less than one period of the chain (${chain.period} s)`);
    }
    const want = firstRoundAtOrAfter(chain, rec.frozenAt.s + rec.beaconDelay);
    if (rec.beaconRound !== want) {
      fail(`the first round at or after entries closed (${formatTime(rec.frozenAt)}) + ${rec.beaconDelay} s is ${want}, the record uses round ${rec.beaconRound}`);
    }
    return `round ${rec.beaconRound}, published at ${unixTime(facts.roundTime)}, is the first round at or after entries closed ` +
      `(${formatTime(rec.frozenAt)}) + the ${rec.beaconDelay} s fixed when the giveaway opened`;
  });

  await add('beacon', async () => {
    if (rec.entrantsCount === 0n) {
      if (rec.beaconSignature.length) fail(`no entrants, so no beacon is awaited, yet the record holds a ${rec.beaconSignature.length}-byte beacon signature`);
      return 'nobody entered, so no beacon was awaited';
    }
    needChain();
    await verifyBeacon(chain, rec.beaconRound, rec.beaconSignature);
    return `${chain.name}'s BLS signature of round ${rec.beaconRound} verifies against its public key; the randomness, ` +
      `SHA-256 of the signature, is ${toHex(await randomnessOf(rec.beaconSignature)).slice(0, 16)}…`;
  });

  // The attestations: the freeze's, and each redraw request's.
  let keysUsed = null;
  await add('attestation', async () => {
    if (!rec.freezeAttested && rec.freezeAttestation) fail('freeze_attested is false, yet the record holds a freeze attestation');
    if (rec.freezeAttested && !rec.freezeAttestation) fail('freeze_attested is true, but the record holds no freeze attestation');
    const attested = [rec.freezeAttestation, ...rec.rounds.map((rd) => rd.attestation)].filter(Boolean);
    let resolved = null;
    if (attested.length) {
      let origin;
      try {
        origin = parseCheckpoint(openNote(attested[0].checkpoint).text).origin;
      } catch (e) {
        fail(`the attesting checkpoint cannot be read: ${e.message}`);
      }
      try {
        resolved = await resolveKeys(origin, logKeys, pins);
      } catch (e) {
        keysUsed = { keys: null, error: e.message };
        fail(`the log's keys: ${e.message}`);
      }
      keysUsed = resolved;
      if (!resolved.keys) throw new NotChecked(`the log's keys could not be had from the service (${resolved.servedError}) and none are pinned in this page`);
      needChain();
    }
    const notes = [];
    const trusted = [];
    if (rec.freezeAttestation) {
      const j = logPosition(rec, 'freeze', 1);
      if (j < 0) fail('the record\'s log names no freeze entry');
      const res = await checkAttestation(rec.freezeAttestation, canonicalJSON(freezeEntry(rec, j)), rec.log[j].index, facts.roundTime, resolved.keys)
        .catch((e) => { throw new CheckFailure(`the freeze: ${e.message}`); });
      facts.attestation = res;
      notes.push(`the freeze entry, rebuilt from the record, is entry ${rec.log[j].index} of the draw log under its checkpoint of ` +
        `${res.checkpoint.size} entries signed by the log; ${res.cosigners.map((c) => `${c.name} cosigned at ${unixTime(c.time)}`).join(', ')}, ` +
        `by ${unixTime(res.deadline)}, 3 s before round ${rec.beaconRound} was published (${resolved.keys.quorum} of ${resolved.keys.witnesses.length} needed)`);
    } else {
      trusted.push(`no witness cosigned the freeze, so that entries closed at ${formatTime(rec.frozenAt)}, before round ${rec.beaconRound} ` +
        'was published, rests on the organiser\'s word');
    }
    for (const [n, rd] of rec.rounds.entries()) {
      if (!rd.attestation) {
        trusted.push(`redraw round ${n + 1}'s request was not attested, so that it was made before round ${rd.beaconRound} was published rests on the organiser's word`);
        continue;
      }
      const j = logPosition(rec, 'redraw-request', n + 1);
      if (j < 0) fail(`the record's log names no redraw-request entry for round ${n + 1}`);
      const res = await checkAttestation(rd.attestation, canonicalJSON(requestEntry(rec, j, rd)), rec.log[j].index,
        roundTime(chain, rd.beaconRound), resolved.keys).catch((e) => { throw new CheckFailure(`redraw round ${n + 1}'s request: ${e.message}`); });
      notes.push(`redraw round ${n + 1}'s request is entry ${rec.log[j].index}, cosigned in time by ${res.cosigners.map((c) => c.name).join(' and ')}`);
    }
    if (trusted.length) return { status: 'trust', detail: [...trusted, ...notes].join('; ') };
    return notes.join('; ');
  });

  await add('keys', () => {
    if (!keysUsed) return { status: 'info', detail: 'no attestation in this record needs the log\'s keys' };
    if (keysUsed.error) fail(keysUsed.error);
    if (!keysUsed.keys) throw new NotChecked(`the log's keys could not be had from the service (${keysUsed.servedError}) and none are pinned in this page`);
    const k = keysUsed.keys;
    facts.keySource = k.source;
    facts.keys = { source: k.source, log: k.log.text, witnesses: k.witnesses.map((w) => w.text), quorum: k.quorum };
    if (keysUsed.keys.source === 'pinned') {
      if (keysUsed.mismatch) fail(`${keysUsed.mismatch}: the page checked with its pinned ${keyList(keysUsed.keys)}`);
      return `${keyList(keysUsed.keys)} are pinned in this page, as the deployment published them` +
        (keysUsed.servedError ? ` (the service's own could not be had: ${keysUsed.servedError})` : ', and the service serves the same');
    }
    return {
      status: 'trust',
      detail: `${keyList(keysUsed.keys)} came from this service (/api/participants/log/key) and are not pinned in this page: ` +
        'they are the service\'s word, and a dishonest service could have made these signatures itself. Compare them with the keys its organiser published',
    };
  });

  const ticketsOk = await add('tickets', () => {
    const { entrantsCount: n, totalTickets: t, maxTickets: most } = rec;
    if (most < 1n || most > MAX_SAFE) fail(`max_tickets is ${most}, expected 1 to 2^53 - 1`);
    if (t > MAX_SAFE) fail(`total_tickets ${t} is more than 2^53 - 1`);
    if (t < n) fail(`${fmtInt(t)} tickets for ${fmtInt(n)} entrants, but every entrant holds at least one`);
    if (t > n * most) fail(`${fmtInt(t)} tickets for ${fmtInt(n)} entrants of at most ${most} each`);
    return `${fmtInt(t)} tickets among ${fmtInt(n)} entrants, at most ${most} each: a winner is drawn by ticket, so more tickets give a better chance`;
  });

  await add('rules', async () => {
    try {
      const r = await checkRules(rec, rules);
      facts.rules = r.rules;
      return r.detail;
    } catch (e) {
      if (!(e instanceof RulesNotChecked)) throw e;
      if (e.rules) facts.rules = e.rules;
      throw new NotChecked(e.message);
    }
  });

  await add('draw-seed', async () => {
    const got = await drawSeedV2({ ...rec, randomness: await randomnessOf(rec.beaconSignature) });
    if (!equalBytes(got, rec.drawSeed)) {
      fail(`recomputed ${toHex(got)} from the seed, giveaway, entrants root, counts, chain, round and randomness; the record says ${toHex(rec.drawSeed)}`);
    }
    return `HMAC-SHA256 of the server seed over giveaway ${rec.giveawayId}, root ${short(rec.entrantsRoot)}, the counts and round ` +
      `${rec.beaconRound}'s randomness gives the record's draw seed`;
  });

  const replay = new Replay(rec);
  let replayed = false;
  const winnersCheck = await add('winners', async () => {
    if (ticketsOk.status === 'fail') throw new NotChecked('the ticket counts are wrong');
    const read = await replay.winners();
    replayed = true;
    return `each of the ${plural(rec.winners.length, 'winner')} holds the ticket the draw seed's stream drew for that position ` +
      `(${plural(read, 'stream value')} read; a ticket of someone already chosen is passed over)`;
  });

  let roundsReplayed = rec.rounds.length === 0 && replayed;
  const roundsCheck = await add('replacements', async () => {
    if (rec.rounds.length === 0) return 'no winner was disqualified';
    if (!replayed) throw new NotChecked('the winners did not check out, so their replacements cannot be replayed');
    needChain();
    for (const [n, rd] of rec.rounds.entries()) {
      const prev = n === 0 ? rec.drawnAt : rec.rounds[n - 1].redrawnAt;
      if (rd.requestedAt.s < prev.s) fail(`round ${n + 1}: requested at ${formatTime(rd.requestedAt)}, before ${formatTime(prev)}`);
      if (rd.redrawnAt.s < rd.requestedAt.s) fail(`round ${n + 1}: redrawn at ${formatTime(rd.redrawnAt)}, before its request at ${formatTime(rd.requestedAt)}`);
      const want = firstRoundAtOrAfter(chain, rd.requestedAt.s + rec.beaconDelay);
      if (rd.beaconRound !== want) fail(`round ${n + 1}: the first beacon round at or after its request + ${rec.beaconDelay} s is ${want}, the record uses ${rd.beaconRound}`);
      await verifyBeacon(chain, rd.beaconRound, rd.beaconSignature).catch((e) => { throw new CheckFailure(`round ${n + 1}: ${e.message}`); });
      await replay.round(n, await randomnessOf(rd.beaconSignature));
    }
    roundsReplayed = true;
    const count = facts.disqualified.length;
    return `${plural(count, 'winner')} disqualified in ${plural(rec.rounds.length, 'redraw round')}; each round waited for its own ` +
      'beacon round, whose signature verifies, and each replacement holds the ticket that round\'s stream drew';
  });
  const replayOk = replayed && roundsReplayed && winnersCheck.status === 'pass' && roundsCheck.status === 'pass';
  const winners = replayOk ? replay.current() : currentWinnersV2(rec);

  await add('identities', async () => {
    if (winnerProofs === undefined) throw new NotChecked('no winner proofs were given');
    if (winnerProofs instanceof Error) fail(`the winner proofs could not be fetched: ${winnerProofs.message}`);
    const proofs = list(winnerProofs, 'the winner proofs').map((p, i) => parseProofV2(p, `winner proof ${i + 1}`));
    if (proofs.length !== winners.length) fail(`${winners.length} current winners, but ${proofs.length} winner proofs`);
    for (const [i, w] of winners.entries()) {
      const p = proofs[i];
      const who = `position ${w.position}`;
      if (p.userId !== w.userId) fail(`${who}: the record names user ${w.userId}, the proof is for user ${p.userId}`);
      await proofAgainst(rec, p, `${who}, user ${w.userId}`);
      if (p.leafIndex !== w.index || p.tickets !== w.tickets || p.first !== w.first) {
        fail(`${who}: user ${w.userId} is entrant index ${p.leafIndex} with tickets ${rangeText(p.first, p.tickets)}; the record ` +
          `claims index ${w.index} with tickets ${rangeText(w.first, w.tickets)}`);
      }
      if (!p.isWinner || p.position !== w.position) fail(`${who}: the proof says is_winner ${p.isWinner}, position ${p.position}`);
    }
    if (winners.length === 0) return 'there are no winners to check';
    return `${winners.length === 1 ? 'the winner holds' : `each of the ${winners.length} winners holds`} the tickets the record ` +
      'claims: the sum-tree proofs lead to the entrants root';
  });

  // The re-check is the service's word: 'info' whatever it says, unless
  // the record contradicts it.
  await add('recheck', () => {
    const committed = facts.rules && facts.rules.committed ? facts.rules.rules : null;
    const r = checkRecheck(parseRecheck(rec.recheckRaw), rec, winners, REASONS, committed);
    facts.recheck = r.recheck;
    return { status: 'info', detail: r.detail };
  });

  await add('log', () => {
    const want = ['commit', 'freeze', 'draw', ...rec.rounds.flatMap(() => ['redraw-request', 'redraw'])];
    if (rec.log.length === want.length + 1 && rec.log[want.length].type === 'redraw-request') want.push('redraw-request');
    if (rec.log.length !== want.length) fail(`the record's log names ${rec.log.length} entries, ${want.length} are due`);
    for (const [j, ref] of rec.log.entries()) {
      if (ref.type !== want[j]) fail(`the giveaway's log entry ${j + 1} is a ${ref.type}, a ${want[j]} is due`);
      if (j > 0 && ref.index <= rec.log[j - 1].index) fail(`log index ${ref.index} does not follow ${rec.log[j - 1].index}`);
    }
    return `the giveaway's ${rec.log.length} entries in the public draw log, in order: ${rec.log.map((r) => `${r.type} at ${r.index}`).join(', ')}`;
  });

  return { version: 2, checks, record: rec, winners, replay: replayOk ? replay : null, facts };
}

// The assurance a v2 draw's checks give, from the most to the least.
export const VERIFIED = 'verified';
export const SERVICE_KEYS = 'service-keys';
export const UNVERIFIED = 'unverified';
export const FAILED = 'failed';

// drawAssurance sums up a v2 draw's checks: FAILED when one failed;
// VERIFIED when every check ran and passed, the keys pinned in this page;
// SERVICE_KEYS when every check ran and passed but the log's and the
// witnesses' keys came from the service, which a participant can still
// compare with the keys the organiser published; UNVERIFIED otherwise (a
// check did not run, or rests on someone's word in a way no comparison
// settles, such as a freeze no witness recorded).
export function drawAssurance(checks) {
  if (checks.some((c) => c.status === 'fail')) return FAILED;
  const open = checks.filter((c) => c.status !== 'pass' && c.status !== 'info');
  if (open.length === 0) return VERIFIED;
  if (open.length === 1 && open[0].id === 'keys' && open[0].status === 'trust') return SERVICE_KEYS;
  return UNVERIFIED;
}

// What a participant's result rests on when the draw's assurance is
// SERVICE_KEYS.
export const SERVICE_KEYS_CAVEAT = 'this rests on the log and witness keys taken from this service: compare them with the keys ' +
  'its organiser published (shown above) to rule out the organiser';

const rangeText = (first, tickets) => (tickets === 1n ? `${first}` : `${first} to ${first + tickets - 1n}`);

async function proofAgainst(rec, p, who) {
  if (p.treeSize !== rec.entrantsCount) fail(`${who}: the proof is for ${p.treeSize} entrants, the record has ${rec.entrantsCount}`);
  if (!equalBytes(p.entrantsRoot, rec.entrantsRoot)) fail(`${who}: the proof names root ${short(p.entrantsRoot)}, the record ${short(rec.entrantsRoot)}`);
  if (p.totalTickets !== rec.totalTickets) fail(`${who}: the proof is for ${p.totalTickets} tickets, the record has ${rec.totalTickets}`);
  if (p.tickets > rec.maxTickets) fail(`${who}: ${p.tickets} tickets, more than max_tickets ${rec.maxTickets}`);
  const first = await ticketInclusion({ userId: p.userId, tickets: p.tickets, index: p.leafIndex, size: p.treeSize, path: p.auditPath,
    root: rec.entrantsRoot, total: rec.totalTickets }).catch((e) => { throw new CheckFailure(`${who}: ${e.message}`); });
  if (first !== p.first) fail(`${who}: the audit path puts the first ticket at ${first}, the proof says ${p.first}`);
  return first;
}

// ---------------------------------------------------------------------------
// One participant

const WON = 'Won';
const DID_NOT_WIN = 'Did not win';
const replacing = (seat) => (seat.replaces === undefined ? '' : `, as a replacement for user ${seat.replaces} (redraw round ${seat.round})`);

// verifyParticipantV2 checks one user against a draw verifyDrawV2 checked,
// as verifyParticipant does for v1, and also reads the user's tickets from
// their proof. outcome is only 'won' or 'lost' when the user's own checks
// passed and every check of the draw ran and passed; assurance then says
// whether with pinned keys (VERIFIED) or with the service's (SERVICE_KEYS,
// and caveat says so). Under a failed or unfinished check of the draw the
// outcome is 'unknown', never a win.
export async function verifyParticipantV2(draw, userId, rawProof) {
  const { record: rec, winners } = draw;
  const assurance = drawAssurance(draw.checks);
  const drawUnverified = assurance === VERIFIED || assurance === SERVICE_KEYS ? '' : unverifiedDraw(draw.checks);
  if (rawProof === null) {
    return {
      outcome: 'not-entered',
      assurance,
      reasons: [],
      checks: [
        { id: 'entered', title: 'Entered', status: 'info',
          detail: `not entered: the server has no entry for user ${userId} among the ${plural(rec.entrantsCount, 'entrant')} ` +
            '(an absence has no proof in this protocol: this is the server\'s word)' },
        skipped('won', WON, 'not run: only entrants can win'),
      ],
    };
  }
  let proof;
  const entered = await check('entered', 'Entered', async () => {
    const p = parseProofV2(rawProof);
    if (p.userId !== userId) fail(`asked for user ${userId}, the proof is for user ${p.userId}`);
    await proofAgainst(rec, p, `user ${userId}`);
    proof = p;
    return `user ${userId} is entrant ${fmtInt(p.leafIndex + 1n)} of ${fmtInt(rec.entrantsCount)} and holds ${plural(p.tickets, 'ticket')} ` +
      `of ${fmtInt(rec.totalTickets)} (number${p.tickets === 1n ? '' : 's'} ${rangeText(p.first, p.tickets)}): the sum-tree proof leads to the entrants root`;
  });
  const reasons = drawUnverified ? [drawUnverified] : [];
  if (!proof) {
    return {
      outcome: 'unknown',
      assurance,
      reasons: [...reasons, 'the entry\'s own proof failed'],
      checks: [entered, skipped('won', WON, 'not run: the entry\'s own proof failed, so there is nothing to check a result against')],
    };
  }
  const tickets = { held: proof.tickets, total: rec.totalTickets, first: proof.first };
  const seat = winners.find((w) => w.userId === userId);
  const won = await check('won', seat ? WON : DID_NOT_WIN, () => checkWonV2(draw, seat, proof));
  if (won.status === 'fail') reasons.push(`the "${won.title}" check failed`);
  else if (drawUnverified) {
    won.status = 'unverified';
    won.detail = `not confirmed: the record and the proof agree ${seat ? `on position ${seat.position}${replacing(seat)}` :
      'that this user is not a current winner'}, but ${drawUnverified}`;
  } else if (assurance === SERVICE_KEYS) {
    won.status = 'trust';
    won.detail = `${won.detail}; ${SERVICE_KEYS_CAVEAT}`;
  }
  if (reasons.length > 0) return { outcome: 'unknown', assurance, reasons, tickets, checks: [entered, won] };
  return {
    outcome: seat ? 'won' : 'lost',
    assurance,
    caveat: assurance === SERVICE_KEYS ? SERVICE_KEYS_CAVEAT : undefined,
    reasons,
    tickets,
    position: seat ? seat.position : undefined,
    replaces: seat ? seat.replaces : undefined,
    round: seat ? seat.round : undefined,
    checks: [entered, won],
  };
}

function checkWonV2(draw, seat, proof) {
  const { record: rec, replay } = draw;
  const mine = (x) => x >= proof.first && x - proof.first < proof.tickets;
  if (seat) {
    if (proof.leafIndex !== seat.index || proof.tickets !== seat.tickets || proof.first !== seat.first) {
      fail(`the record seats entrant index ${seat.index} (tickets ${rangeText(seat.first, seat.tickets)}) at position ${seat.position}, ` +
        `the proof is for index ${proof.leafIndex} (tickets ${rangeText(proof.first, proof.tickets)})`);
    }
    if (!proof.isWinner || proof.position !== seat.position) fail(`the record has position ${seat.position}, the proof says is_winner ${proof.isWinner}, position ${proof.position}`);
    return `won: position ${seat.position} of ${rec.winners.length}, with ticket ${seat.ticket}, one of this user's${replacing(seat)}`;
  }
  if (proof.isWinner || proof.position !== 0) fail(`not a current winner in the record, but the proof says position ${proof.position}`);
  const claims = replay ? replay.claims : [...rec.winners, ...rec.rounds.flatMap((rd) => rd.replacements.filter((p) => !p.empty))];
  const holder = claims.find((c) => c.index === proof.leafIndex && c.userId !== proof.userId);
  if (holder) fail(`the record gives entrant index ${proof.leafIndex}, which is this user, to user ${holder.userId} (position ${holder.position})`);
  const me = claims.find((c) => c.userId === proof.userId);
  if (me && (me.index !== proof.leafIndex || me.tickets !== proof.tickets || me.first !== proof.first)) {
    fail(`the record drew this user as entrant index ${me.index} with tickets ${rangeText(me.first, me.tickets)}, the proof says index ` +
      `${proof.leafIndex} with tickets ${rangeText(proof.first, proof.tickets)}`);
  }
  // Someone never drawn must hold none of the tickets the stream hit: each
  // one picked someone else or fell to an entrant chosen before.
  if (replay && !me) {
    for (const h of replay.hits) {
      if (!mine(h.x)) continue;
      fail(`ticket ${h.x}, drawn as stream value ${h.streamIndex}${h.round ? ` of redraw round ${h.round}` : ''}, is this user's, ` +
        `but the record gives it to ${h.pick ? `user ${h.pick.userId}` : 'an entrant chosen before'}`);
    }
  }
  const gone = draw.facts.disqualified.find((d) => d.userId === proof.userId);
  if (gone) return `did not win: drawn, then disqualified in redraw round ${gone.round} (${REASONS[gone.reason] ?? gone.reason})`;
  const drawn = replay ? replay.hits.length : 0;
  return `did not win: none of the ${plural(drawn, 'ticket')} the draw drew is among this user's ${rangeText(proof.first, proof.tickets)}`;
}

