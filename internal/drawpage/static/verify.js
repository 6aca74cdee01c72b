// Verifier of telegive-draw-v1 draws, written from the protocol text in
// pkg/draw/doc.go, for the draw page and for Node 20 (the vectors test).
//
// It trusts nothing the server computed: every hash is recomputed with
// WebCrypto, and every integer is read from the JSON text (parseJSON) into a
// BigInt, so ids and counts above 2^53 stay exact.
// It needs only the public record and inclusion proofs, never the entrant
// list, so the work is O(winners × log entrants) whatever the entrant count.
//
// The results are plain data ({id, title, status, detail}); rendering them
// is app.js's business.

export const VERSION = 'telegive-draw-v1';

const TWO_64 = 1n << 64n;
const utf8 = new TextEncoder();
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);
const STREAM_LABEL = utf8.encode('stream');

// ---------------------------------------------------------------------------
// Errors

// A CheckFailure is a check that ran and found the record wrong; its
// message is the reason shown to the participant.
export class CheckFailure extends Error {}

// A FormatError is a record or proof that cannot even be read.
export class FormatError extends CheckFailure {}

function fail(reason) {
  throw new CheckFailure(reason);
}

// ---------------------------------------------------------------------------
// Bytes, hashes and HMAC

// WebCrypto exists only in secure contexts (https, or localhost); say so
// rather than fail with "cannot read properties of undefined".
function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new Error('WebCrypto is unavailable here; open the page over https');
  }
  return s;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// fromHex accepts only lowercase hex, the record's one published form, so
// that equal values always have equal text.
export function fromHex(text, what, length) {
  if (typeof text !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(text)) {
    throw new FormatError(`${what} is not lowercase hex`);
  }
  if (length !== undefined && text.length !== 2 * length) {
    throw new FormatError(`${what} must be ${length} bytes, it has ${text.length / 2}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

export function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// uint64be encodes v as 8 big-endian bytes; a negative id is taken as its
// two's complement bits, as the protocol says.
export function uint64be(v) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v));
  return out;
}

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function sha256(...parts) {
  return new Uint8Array(await subtle().digest('SHA-256', concat(parts)));
}

export function hmacKey(key) {
  return subtle().importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

export async function hmacWith(cryptoKey, parts) {
  return new Uint8Array(await subtle().sign('HMAC', cryptoKey, concat(parts)));
}

export async function hmacSha256(key, ...parts) {
  return hmacWith(await hmacKey(key), parts);
}

// ---------------------------------------------------------------------------
// Protocol steps

export function commitmentOf(serverSeed) {
  return sha256(serverSeed);
}

// drawSeed binds the revealed seed to this giveaway and this exact entrant
// set: HMAC-SHA256(server_seed, version || giveaway_id || root || N || beacon).
export function drawSeed({ serverSeed, giveawayId, entrantsRoot, entrantsCount, beacon }) {
  return hmacSha256(serverSeed, utf8.encode(VERSION), uint64be(giveawayId), entrantsRoot,
    uint64be(entrantsCount), beacon);
}

// RFC 6962 hashes: the 0x00 and 0x01 prefixes keep a leaf from ever being
// passed off as an inner node.
export function leafHash(userId) {
  return sha256(LEAF_PREFIX, uint64be(userId));
}

export function nodeHash(left, right) {
  return sha256(NODE_PREFIX, left, right);
}

// entrantsRoot is the Merkle Tree Hash of a whole entrant list. The page
// never has the list; this is for the vectors test and for auditors who
// downloaded it.
export async function entrantsRoot(userIds) {
  const hashRange = async (lo, hi) => {
    const n = hi - lo;
    if (n === 0) return sha256();
    if (n === 1) return leafHash(userIds[lo]);
    let k = 1;
    while (2 * k < n) k *= 2; // the largest power of two strictly below n
    return nodeHash(await hashRange(lo, lo + k), await hashRange(lo + k, hi));
  };
  return hashRange(0, userIds.length);
}

// inclusionRoot returns the root that an RFC 6962 audit path (ordered from
// the leaf up) leads to from leaf `index` of a tree of `size` leaves; the
// caller compares it with the root it trusts. It follows RFC 9162,
// section 2.1.3.2, which also rejects a path of the wrong length.
export async function inclusionRoot(userId, index, size, path) {
  return rootFromAuditPath(await leafHash(userId), index, size, path);
}

// rootFromAuditPath is inclusionRoot for any leaf hash: the draw log's
// entries use the same tree.
export async function rootFromAuditPath(leaf, index, size, path) {
  if (index >= size) fail(`leaf index ${index} is not below the tree size ${size}`);
  let fn = index;
  let sn = size - 1n;
  let hash = leaf;
  for (const sibling of path) {
    if (sn === 0n) fail(`the audit path has ${path.length} hashes, more than a tree of ${size} needs`);
    if ((fn & 1n) === 1n || fn === sn) {
      hash = await nodeHash(sibling, hash);
      // Climb past the levels where this node is a lone right-edge child.
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      hash = await nodeHash(hash, sibling);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail(`the audit path has ${path.length} hashes, fewer than a tree of ${size} needs`);
  return hash;
}

// A Stream yields the draw's random uint64s: block i is
// HMAC-SHA256(draw_seed, "stream" || uint64be(i)), read as four big-endian
// values.
export class Stream {
  #key;
  #block = 0n;
  #view = null;
  #offset = 32;
  consumed = 0;

  constructor(cryptoKey) {
    this.#key = cryptoKey;
  }

  static async fromSeed(seed) {
    return new Stream(await hmacKey(seed));
  }

  async next() {
    if (this.#offset === 32) {
      const block = await hmacWith(this.#key, [STREAM_LABEL, uint64be(this.#block)]);
      this.#view = new DataView(block.buffer);
      this.#block += 1n;
      this.#offset = 0;
    }
    const value = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    this.consumed += 1;
    return value;
  }
}

// uniform returns a value in [0, m) with no bias: of the 2^64 possible
// values, the top 2^64 mod m would make the low residues likelier, so they
// are drawn again. When 2^64 mod m is 0 the limit is 2^64 and every value
// is kept, so uniform(1) still consumes one value.
export async function uniform(stream, m) {
  if (m < 1n || m >= TWO_64) throw new RangeError(`uniform(${m}) is out of range`);
  const limit = TWO_64 - (TWO_64 % m);
  for (;;) {
    const x = await stream.next();
    if (x < limit) return x % m;
  }
}

// A Shuffle is the partial Fisher-Yates shuffle of 0..n-1. It remembers
// only the entries that swaps have moved, so memory grows with the steps
// taken, not with n: a draw over millions costs as little as one over ten.
export class Shuffle {
  #stream;
  #n;
  #moved = new Map(); // position -> entry, for positions whose entry moved
  j = 0n;

  constructor(stream, n) {
    this.#stream = stream;
    this.#n = n;
  }

  #at(i) {
    return this.#moved.has(i) ? this.#moved.get(i) : i;
  }

  // step runs step j (swap perm[j] with perm[j + uniform(n - j)]) and
  // returns the entry that lands at j, or null once all n are drawn.
  async step() {
    const j = this.j;
    if (j >= this.#n) return null;
    const r = j + (await uniform(this.#stream, this.#n - j));
    const picked = this.#at(r);
    this.#moved.set(r, this.#at(j));
    this.#moved.delete(j); // later steps only look at positions above j
    this.j = j + 1n;
    return picked;
  }
}

// ---------------------------------------------------------------------------
// Reading the JSON

// The API's integers are int64 and uint64: a user id may be 2^63 - 1, which
// JSON.parse would round to a double. parseJSON reads JSON text as
// JSON.parse does, and as strictly, except that every integer literal (no
// fraction, no exponent) becomes a BigInt. It also refuses an object with a
// key twice, which JSON readers settle differently (first or last wins), so
// that the page cannot read another value than the Go verifier does.
export function parseJSON(source) {
  const src = String(source);
  const WS = /[ \t\n\r]*/y;
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const MAX_DEPTH = 1000;
  let at = 0;
  const bad = (what) => new SyntaxError(`${what} at offset ${at} of the JSON text`);
  const skipSpace = () => {
    WS.lastIndex = at;
    WS.exec(src);
    at = WS.lastIndex;
  };
  const match = (re) => {
    re.lastIndex = at;
    const m = re.exec(src);
    if (m) at = re.lastIndex;
    return m;
  };
  const string = () => {
    const m = match(STRING);
    if (!m) throw bad('a malformed string');
    return JSON.parse(m[0]); // a validated string token: JSON.parse decodes its escapes
  };
  // Properties are defined, not assigned, so "__proto__" is a key like any
  // other, as with JSON.parse.
  const put = (obj, key, v) => Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
  // depth is the number of objects and arrays around the value.
  const value = (depth) => {
    skipSpace();
    const c = src[at];
    if ((c === '{' || c === '[') && depth === MAX_DEPTH) throw bad(`nesting deeper than ${MAX_DEPTH} levels`);
    if (c === '{') {
      at++;
      const obj = {};
      skipSpace();
      if (src[at] === '}') {
        at++;
        return obj;
      }
      for (;;) {
        skipSpace();
        if (src[at] !== '"') throw bad('expected a key');
        const key = string();
        if (Object.hasOwn(obj, key)) throw bad(`the key ${JSON.stringify(key)} twice`);
        skipSpace();
        if (src[at] !== ':') throw bad('expected ":"');
        at++;
        put(obj, key, value(depth + 1));
        skipSpace();
        if (src[at] === ',') at++;
        else if (src[at] === '}') {
          at++;
          return obj;
        } else throw bad('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const arr = [];
      skipSpace();
      if (src[at] === ']') {
        at++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        skipSpace();
        if (src[at] === ',') at++;
        else if (src[at] === ']') {
          at++;
          return arr;
        } else throw bad('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (src.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    const m = match(NUMBER);
    if (!m) throw bad('expected a value');
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  };
  const v = value(0);
  skipSpace();
  if (at !== src.length) throw bad('text after the value');
  return v;
}

const INT64 = [-(1n << 63n), (1n << 63n) - 1n];
const UINT64 = [0n, TWO_64 - 1n];
const SMALL = [0n, BigInt(Number.MAX_SAFE_INTEGER)]; // positions, read as numbers
const POSITION = [1n, SMALL[1]];

// integer reads an integer field as a BigInt within [min, max]. Read with
// parseJSON it is a BigInt already; a JavaScript number is taken only when
// it is exact, and Number.isSafeInteger is exactly the test for that (a
// number beyond 2^53 has already lost its low bits).
export function integer(v, what, [min, max] = INT64) {
  let n;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) {
    if (!Number.isSafeInteger(v)) throw new FormatError(`${what} is beyond 2^53 and cannot be read exactly`);
    n = BigInt(v);
  } else throw new FormatError(`${what} is not an integer`);
  if (n < min) throw new FormatError(`${what} must be at least ${min}, it is ${n}`);
  if (n > max) throw new FormatError(`${what} must be at most ${max}, it is ${n}`);
  return n;
}

export function list(v, what) {
  if (!Array.isArray(v)) throw new FormatError(`${what} is not a list`);
  return v;
}

export function text(v, what) {
  if (typeof v !== 'string') throw new FormatError(`${what} is not a string`);
  return v;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

// parseTime reads an RFC 3339 time into nanoseconds since 1970 as a BigInt:
// Date keeps only milliseconds, and two events in the same millisecond must
// still compare correctly.
export function parseTime(v, what) {
  const m = RFC3339.exec(text(v, what));
  if (!m) throw new FormatError(`${what} is not an RFC 3339 time`);
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  // setUTCFullYear, unlike Date.UTC, does not read years below 100 as 19xx;
  // the read-back refuses what Date would roll over (February 30, 24:00).
  const date = new Date(0);
  date.setUTCFullYear(+y, +mo - 1, +d);
  date.setUTCHours(+h, +mi, +s);
  const back = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  if (back.join() !== [y, mo, d, h, mi, s].map(Number).join() || +zone.slice(1, 3) > 23 || +zone.slice(4, 6) > 59) {
    throw new FormatError(`${what} is not a valid time`);
  }
  let ns = BigInt(date.getTime()) * 1000000n + BigInt(frac.padEnd(9, '0'));
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1n : 1n;
    const minutes = BigInt(zone.slice(1, 3)) * 60n + BigInt(zone.slice(4, 6));
    ns -= sign * minutes * 60000000000n;
  }
  return { text: v, ns };
}

// formatTime shows a time read by parseTime in the page's one format: RFC
// 3339 in UTC, to the second.
export function formatTime(t) {
  const second = t.ns / 1000000000n - (t.ns % 1000000000n < 0n ? 1n : 0n);
  return new Date(Number(second) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

// formatDuration shows a positive span of nanoseconds in its largest whole
// unit, so that two times shown to the same second can still be told apart.
export function formatDuration(ns) {
  for (const [unit, size] of [['days', 86400000000000n], ['h', 3600000000000n], ['min', 60000000000n], ['s', 1000000000n], ['ms', 1000000n], ['µs', 1000n]]) {
    if (ns >= size) return `${ns / size} ${unit}`;
  }
  return `${ns} ns`;
}

function pick(v, what) {
  if (v === null || typeof v !== 'object') throw new FormatError(`${what} is not an object`);
  return {
    position: Number(integer(v.position, `${what}: position`, POSITION)),
    userId: integer(v.user_id, `${what}: user_id`),
    index: integer(v.index, `${what}: index`, UINT64),
  };
}

function round(v, n) {
  const what = `redraw round ${n + 1}`;
  if (v === null || typeof v !== 'object') throw new FormatError(`${what} is not an object`);
  return {
    disqualified: list(v.disqualified_user_ids, `${what}: disqualified_user_ids`)
      .map((id, i) => integer(id, `${what}: disqualified user ${i + 1}`)),
    reason: text(v.reason, `${what}: reason`),
    redrawnAt: parseTime(v.redrawn_at, `${what}: redrawn_at`),
    replacements: list(v.replacements, `${what}: replacements`).map((r, i) => ({
      ...pick(r, `${what}, replacement ${i + 1}`),
      replaces: integer(r.replaces_user_id, `${what}, replacement ${i + 1}: replaces_user_id`),
      round: n + 1,
    })),
  };
}

// parseDrawnRecord reads a drawn record into bytes and BigInts, or throws a
// FormatError naming the first field that is wrong. expectedGiveawayId, when
// given, guards against a record of another giveaway served for this one.
export function parseDrawnRecord(raw, expectedGiveawayId) {
  if (raw === null || typeof raw !== 'object') throw new FormatError('the record is not a JSON object');
  if (raw.version !== VERSION) throw new FormatError(`version is ${JSON.stringify(raw.version)}, not ${VERSION}`);
  if (raw.status !== 'drawn') throw new FormatError(`status is ${JSON.stringify(raw.status)}, not "drawn"`);
  const giveawayId = integer(raw.giveaway_id, 'giveaway_id');
  if (expectedGiveawayId !== undefined && giveawayId !== expectedGiveawayId) {
    throw new FormatError(`the record is for giveaway ${giveawayId}, this page is for giveaway ${expectedGiveawayId}`);
  }
  return {
    giveawayId,
    commitment: fromHex(raw.commitment, 'commitment', 32),
    committedAt: parseTime(raw.committed_at, 'committed_at'),
    serverSeed: fromHex(raw.server_seed, 'server_seed'),
    entrantsCount: integer(raw.entrants_count, 'entrants_count', UINT64),
    entrantsRoot: fromHex(raw.entrants_root, 'entrants_root', 32),
    beacon: fromHex(raw.beacon, 'beacon'),
    drawSeed: fromHex(raw.draw_seed, 'draw_seed', 32),
    winnerCountRequested: integer(raw.winner_count_requested, 'winner_count_requested', UINT64),
    winners: list(raw.winners, 'winners').map((w, i) => pick(w, `winner ${i + 1}`)),
    rounds: list(raw.replacements, 'replacements').map(round),
    drawnAt: parseTime(raw.drawn_at, 'drawn_at'),
  };
}

export function parseProof(raw, what = 'the proof') {
  if (raw === null || typeof raw !== 'object') throw new FormatError(`${what} is not an object`);
  if (typeof raw.is_winner !== 'boolean') throw new FormatError(`${what}: is_winner is not a boolean`);
  return {
    userId: integer(raw.user_id, `${what}: user_id`),
    leafIndex: integer(raw.leaf_index, `${what}: leaf_index`, UINT64),
    treeSize: integer(raw.tree_size, `${what}: tree_size`, UINT64),
    auditPath: list(raw.audit_path, `${what}: audit_path`).map((h, i) => fromHex(h, `${what}: audit path hash ${i + 1}`, 32)),
    entrantsRoot: fromHex(raw.entrants_root, `${what}: entrants_root`, 32),
    isWinner: raw.is_winner,
    position: Number(integer(raw.position, `${what}: position`, SMALL)),
  };
}

// ---------------------------------------------------------------------------
// Winners

// Seats tracks who currently holds each winning position.
class Seats {
  #byPosition = new Map();
  #byUser = new Map();

  take(p, where) {
    const held = this.#byUser.get(p.userId);
    if (held !== undefined) fail(`${where}: user ${p.userId} already holds position ${held.position}`);
    this.#byPosition.set(p.position, p);
    this.#byUser.set(p.userId, p);
  }

  leave(p) {
    this.#byPosition.delete(p.position);
    this.#byUser.delete(p.userId);
  }

  ofUser(userId) {
    return this.#byUser.get(userId);
  }

  list() {
    return [...this.#byPosition.values()].sort((a, b) => a.position - b.position);
  }
}

// currentWinners applies the record's redraw rounds as the record states
// them, checking nothing: the winners check is what ties them to the seed.
export function currentWinners(rec) {
  const seats = new Map(rec.winners.map((w) => [w.userId, w]));
  for (const r of rec.rounds) {
    for (const id of r.disqualified) seats.delete(id);
    for (const p of r.replacements) seats.set(p.userId, p);
  }
  return [...seats.values()].sort((a, b) => a.position - b.position);
}

// drawWinners re-derives the initial winners from the draw seed and replays
// every redraw round, comparing each pick with the record. User ids are
// taken from the record (only proofs can tie them to indices); it fails on
// the first difference and otherwise returns a summary.
export async function drawWinners(rec) {
  if (rec.winnerCountRequested < 1n) fail('winner_count_requested is 0');
  const n = rec.entrantsCount;
  const k = rec.winnerCountRequested < n ? rec.winnerCountRequested : n;
  if (BigInt(rec.winners.length) !== k) {
    fail(`min(${rec.winnerCountRequested} requested, ${n} entrants) = ${k} winners, the record lists ${rec.winners.length}`);
  }
  const shuffle = new Shuffle(await Stream.fromSeed(rec.drawSeed), n);
  const seats = new Seats();
  for (const [j, w] of rec.winners.entries()) {
    const index = await shuffle.step();
    if (w.position !== j + 1) fail(`winner ${j + 1} is listed at position ${w.position}`);
    if (w.index !== index) fail(`position ${j + 1}: the draw seed picks entrant index ${index}, the record says ${w.index}`);
    seats.take(w, `position ${j + 1}`);
  }
  const disqualified = new Set(); // entrant indices, over all rounds so far
  for (const [i, r] of rec.rounds.entries()) {
    await replayRound(r, `round ${i + 1}`, shuffle, seats, disqualified);
  }
  return { steps: shuffle.j, current: seats.list() };
}

async function replayRound(r, label, shuffle, seats, disqualified) {
  if (r.disqualified.length === 0) fail(`${label} disqualifies nobody`);
  const gone = [];
  for (const id of r.disqualified) {
    const seat = seats.ofUser(id);
    if (!seat) fail(`${label}: user ${id} is not a current winner`);
    if (gone.includes(seat)) fail(`${label}: user ${id} is disqualified twice`);
    gone.push(seat);
  }
  gone.sort((a, b) => a.position - b.position);
  for (const g of gone) {
    disqualified.add(g.index);
    seats.leave(g);
  }
  const expected = [];
  for (const g of gone) {
    let index;
    do index = await shuffle.step(); while (index !== null && disqualified.has(index));
    if (index === null) break; // the entrants ran out: this and later positions stay empty
    expected.push({ position: g.position, index, replaces: g.userId });
  }
  if (r.replacements.length !== expected.length) {
    fail(`${label}: ${expected.length} replacements are due, the record lists ${r.replacements.length}`);
  }
  for (const [i, want] of expected.entries()) {
    const got = r.replacements[i];
    const where = `${label}, position ${want.position}`;
    if (got.position !== want.position) fail(`${label}, replacement ${i + 1}: position ${want.position} is due, the record says ${got.position}`);
    if (got.index !== want.index) fail(`${where}: the draw seed picks entrant index ${want.index}, the record says ${got.index}`);
    if (got.replaces !== want.replaces) fail(`${where}: replaces user ${want.replaces}, the record says ${got.replaces}`);
    seats.take(got, where);
  }
}

// ---------------------------------------------------------------------------
// Checks

// runCheck turns a check function into a result: it passes with the detail
// the function returns and fails with the reason it throws.
export async function runCheck(id, title, fn) {
  try {
    return { id, title, status: 'pass', detail: await fn() };
  } catch (e) {
    const detail = e instanceof CheckFailure ? e.message : `could not be checked: ${e.message}`;
    return { id, title, status: 'fail', detail };
  }
}

export function skipped(id, title, detail) {
  return { id, title, status: 'skip', detail };
}

export const DRAW_CHECKS = [
  ['record', 'Record'],
  ['commitment', 'Commitment'],
  ['timing', 'Timing'],
  ['draw-seed', 'Draw seed'],
  ['winners', 'Winners'],
  ['identities', 'Winner identities'],
];

const short = (bytes) => `${toHex(bytes).slice(0, 16)}…`;
export const plural = (n, noun) => `${n} ${noun}${n === 1 || n === 1n ? '' : 's'}`;

// verifyDraw runs every check of a drawn record. winnerProofs is the raw
// proofs array of /draw/winner-proofs, or an Error saying why it could not
// be had; left undefined, the identities check is skipped.
export async function verifyDraw(raw, { giveawayId, winnerProofs } = {}) {
  let rec;
  const record = await runCheck('record', 'Record', () => {
    rec = parseDrawnRecord(raw, giveawayId);
    return `a ${VERSION} record of giveaway ${rec.giveawayId}: ${plural(rec.entrantsCount, 'entrant')}, ` +
      `${plural(rec.winners.length, 'winner')}, ${plural(rec.rounds.length, 'redraw round')}`;
  });
  if (!rec) {
    const rest = DRAW_CHECKS.slice(1).map(([id, title]) => skipped(id, title, 'the record could not be read'));
    return { checks: [record, ...rest], record: null, winners: [] };
  }
  let derived = null;
  const checks = [
    record,
    await runCheck('commitment', 'Commitment', () => checkCommitment(rec)),
    await runCheck('timing', 'Timing', () => checkTiming(rec)),
    await runCheck('draw-seed', 'Draw seed', () => checkDrawSeed(rec)),
    await runCheck('winners', 'Winners', async () => {
      derived = await drawWinners(rec);
      return `every pick and replacement matches the shuffle of ${plural(rec.entrantsCount, 'entrant')} driven ` +
        `by the draw seed (${plural(derived.steps, 'step')}, ${plural(rec.rounds.length, 'redraw round')})`;
    }),
  ];
  const winners = derived ? derived.current : currentWinners(rec);
  checks.push(winnerProofs === undefined
    ? skipped('identities', 'Winner identities', 'no winner proofs were given')
    : await runCheck('identities', 'Winner identities', () => checkIdentities(rec, winners, winnerProofs, derived !== null)));
  return { checks, record: rec, winners };
}

async function checkCommitment(rec) {
  if (rec.serverSeed.length !== 32) fail(`the server seed is ${rec.serverSeed.length} bytes, not 32`);
  const got = await commitmentOf(rec.serverSeed);
  if (!equalBytes(got, rec.commitment)) {
    fail(`SHA-256 of the revealed seed is ${toHex(got)}, but the commitment is ${toHex(rec.commitment)}`);
  }
  return 'SHA-256 of the revealed server seed equals the published commitment';
}

function checkTiming(rec) {
  const committed = formatTime(rec.committedAt);
  const drawn = formatTime(rec.drawnAt);
  const gap = rec.drawnAt.ns - rec.committedAt.ns;
  if (gap < 0n) fail(`committed at ${committed}, ${formatDuration(-gap)} after the draw at ${drawn}`);
  return `committed at ${committed}, drawn at ${drawn}${committed === drawn ? ` (${formatDuration(gap)} later)` : ''}`;
}

async function checkDrawSeed(rec) {
  const got = await drawSeed(rec);
  if (!equalBytes(got, rec.drawSeed)) {
    fail(`recomputed ${toHex(got)} from the seed, giveaway id, entrants root, count and beacon; ` +
      `the record says ${toHex(rec.drawSeed)}`);
  }
  return `HMAC-SHA256 of the seed over giveaway ${rec.giveawayId}, root ${short(rec.entrantsRoot)}, ` +
    `${plural(rec.entrantsCount, 'entrant')} and ${rec.beacon.length ? 'the beacon' : 'no beacon'} gives the record's draw seed`;
}

// checkProofAgainst verifies one proof against the record's root and size.
async function checkProofAgainst(rec, p, who) {
  if (p.treeSize !== rec.entrantsCount) fail(`${who}: the proof is for ${p.treeSize} entrants, the record has ${rec.entrantsCount}`);
  if (!equalBytes(p.entrantsRoot, rec.entrantsRoot)) fail(`${who}: the proof names root ${short(p.entrantsRoot)}, the record ${short(rec.entrantsRoot)}`);
  const root = await inclusionRoot(p.userId, p.leafIndex, p.treeSize, p.auditPath).catch((e) => {
    throw new CheckFailure(`${who}: ${e.message}`);
  });
  if (!equalBytes(root, rec.entrantsRoot)) {
    fail(`${who}: the audit path leads to ${short(root)}, not to the entrants root ${short(rec.entrantsRoot)}`);
  }
}

// checkIdentities ties each current winner's user id to the entrant index
// the seed picked: the proof for that user must lead to the root from that
// very leaf.
async function checkIdentities(rec, winners, rawProofs, indicesDerived) {
  if (rawProofs instanceof Error) fail(`the winner proofs could not be fetched: ${rawProofs.message}`);
  const proofs = list(rawProofs, 'the winner proofs').map((p, i) => parseProof(p, `winner proof ${i + 1}`));
  if (proofs.length !== winners.length) fail(`${winners.length} current winners, but ${proofs.length} winner proofs`);
  const source = indicesDerived ? 'the index derived from the seed' : 'the record\'s index';
  for (const [i, w] of winners.entries()) {
    const p = proofs[i];
    const who = `position ${w.position}`;
    if (p.userId !== w.userId) fail(`${who}: the record names user ${w.userId}, the proof is for user ${p.userId}`);
    await checkProofAgainst(rec, p, `${who}, user ${w.userId}`);
    if (p.leafIndex !== w.index) fail(`${who}: user ${w.userId} is entrant index ${p.leafIndex}, but ${source} is ${w.index}`);
    if (!p.isWinner || p.position !== w.position) fail(`${who}: the proof says is_winner ${p.isWinner}, position ${p.position}`);
  }
  if (winners.length === 0) return 'there are no winners to check';
  return `${winners.length === 1 ? 'the winner is' : `each of the ${winners.length} winners is`} the entrant at ` +
    'the picked index: the inclusion proofs lead to the entrants root';
}

export const PARTICIPANT_CHECKS = [
  ['entered', 'Entered'],
  ['won', 'Won'],
];

// The Won check is titled by what the record says, so that someone who lost
// never sees "Won" beside "Passed".
const WON = 'Won';
const DID_NOT_WIN = 'Did not win';

// verifyParticipant checks one user against a draw verifyDraw has checked
// (its result: { checks, record, winners }). rawProof is null when the
// server answered that the user was not entered. outcome is 'won', 'lost',
// 'not-entered', or 'unknown' when anything the outcome rests on failed or
// was not checked; reasons then says what. A win or a loss is only stated
// when every check of the draw and both checks of the entry passed: a Won
// check that passes under a draw that did not verify gets the status
// 'unverified', and one whose entry failed its proof is not run.
export async function verifyParticipant(draw, userId, rawProof) {
  const { record: rec, winners } = draw;
  const drawUnverified = unverifiedDraw(draw.checks);
  if (rawProof === null) {
    return {
      outcome: 'not-entered',
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
  const entered = await runCheck('entered', 'Entered', async () => {
    const p = parseProof(rawProof);
    if (p.userId !== userId) fail(`asked for user ${userId}, the proof is for user ${p.userId}`);
    await checkProofAgainst(rec, p, `user ${userId}`);
    proof = p;
    return `user ${userId} is entrant index ${p.leafIndex} of ${rec.entrantsCount}: ` +
      `the ${p.auditPath.length}-hash audit path leads to the entrants root`;
  });
  const reasons = drawUnverified ? [drawUnverified] : [];
  if (!proof) {
    return {
      outcome: 'unknown',
      reasons: [...reasons, 'the entry\'s own proof failed'],
      checks: [entered, skipped('won', WON, 'not run: the entry\'s own proof failed, so there is nothing to check a result against')],
    };
  }
  const seat = winners.find((w) => w.userId === userId);
  const won = await runCheck('won', seat ? WON : DID_NOT_WIN, () => checkWon(rec, winners, seat, proof));
  if (won.status === 'fail') reasons.push(`the "${won.title}" check failed`);
  else if (drawUnverified) {
    // The entry agrees with the record, but the record itself did not check
    // out: the result it states is not confirmed.
    won.status = 'unverified';
    won.detail = `not confirmed: the record and the proof agree ${seat ? `on position ${seat.position}${replacing(seat)}` :
      'that this user is not a current winner'}, but ${drawUnverified}`;
  }
  if (reasons.length > 0) return { outcome: 'unknown', reasons, checks: [entered, won] };
  return {
    outcome: seat ? 'won' : 'lost',
    reasons,
    position: seat ? seat.position : undefined,
    replaces: seat ? seat.replaces : undefined,
    round: seat ? seat.round : undefined,
    checks: [entered, won],
  };
}

// unverifiedDraw says which checks of the draw did not pass, or returns ''
// when they all did.
// A check with status 'trust' ran and found nothing wrong, but what it
// shows rests on someone's word (keys the server gave, a time the organiser
// states); 'info' is a note that shows nothing either way.
export function unverifiedDraw(checks) {
  const failed = checks.filter((c) => c.status === 'fail');
  const trusted = checks.filter((c) => c.status === 'trust');
  const notRun = checks.filter((c) => !['fail', 'pass', 'trust', 'info'].includes(c.status));
  const names = (cs) => cs.map((c) => c.title).join(', ');
  const parts = [];
  if (failed.length) parts.push(`the draw failed ${failed.length} of ${checks.length} checks (${names(failed)})`);
  if (trusted.length) parts.push(`${plural(trusted.length, 'check')} of the draw ${trusted.length === 1 ? 'rests' : 'rest'} on someone's word (${names(trusted)})`);
  if (notRun.length) parts.push(`${plural(notRun.length, 'check')} of the draw did not run (${names(notRun)})`);
  return parts.join(' and ');
}

const replacing = (seat) => (seat.replaces === undefined ? '' : `, as a replacement for user ${seat.replaces} (redraw round ${seat.round})`);

function checkWon(rec, winners, seat, proof) {
  if (seat) {
    if (proof.leafIndex !== seat.index) fail(`the record seats index ${seat.index} at position ${seat.position}, the proof is for index ${proof.leafIndex}`);
    if (!proof.isWinner || proof.position !== seat.position) fail(`the record has position ${seat.position}, the proof says is_winner ${proof.isWinner}, position ${proof.position}`);
    return `won: position ${seat.position} of ${rec.winners.length}${replacing(seat)}`;
  }
  if (proof.isWinner || proof.position !== 0) fail(`not a current winner in the record, but the proof says position ${proof.position}`);
  const holder = winners.find((w) => w.index === proof.leafIndex);
  if (holder) fail(`the draw picked entrant index ${proof.leafIndex}, which is this user, but the record seats user ${holder.userId} there at position ${holder.position}`);
  const round = rec.rounds.findIndex((r) => r.disqualified.includes(proof.userId));
  if (round >= 0) return `did not win: drawn, then disqualified in redraw round ${round + 1} (${rec.rounds[round].reason})`;
  return 'did not win: not among the current winners';
}
