// A telegive-draw-v2 giveaway's rules and the service's re-check of its
// winners, for the draw page and for Node 20 (the rules test).
//
// The rules: the record commits, when the giveaway opens, to rules_sha256,
// the SHA-256 of the rules document's RFC 8785 (JCS) JSON; GET
// /api/participants/{giveaway_id}/rules serves the document. A JSON parser
// keeps no bytes, so the page writes the document again in RFC 8785 form
// and hashes that. It writes only the one shape a rules document has (an
// object of booleans, integers, strings and lists of strings) and refuses
// anything else rather than guess how another implementation would write it.
//
// The re-check: a drawn record may carry "recheck", the service's
// statement of what Telegram answered when it checked the winners against
// the rules at the draw. No proof can show those answers, so the page
// presents them as the service's word (status 'info', which never makes a
// draw verified or failed) and fails only what the record itself
// contradicts.

import { CheckFailure, FormatError, equalBytes, formatTime, integer, list, parseTime, sha256, text, toHex } from './verify.js';

const utf8 = new TextEncoder();
const MAX_SAFE = (1n << 53n) - 1n;

function fail(reason) {
  throw new CheckFailure(reason);
}

// A NotChecked is a check the page could not make.
export class RulesNotChecked extends Error {}

// canonicalString is RFC 8785's string: the serialization of ECMAScript's
// JSON.stringify (section 3.2.2.2), of well-formed Unicode only.
function canonicalString(s, what) {
  if (typeof s !== 'string') throw new FormatError(`${what} is not a string`);
  if (!s.isWellFormed()) throw new FormatError(`${what} holds a lone surrogate, which is not Unicode text`);
  return JSON.stringify(s);
}

// canonicalInteger is RFC 8785's number for an integer of at most 2^53 - 1
// in magnitude, which ECMAScript writes in plain decimal; parseJSON reads
// integers as BigInts.
function canonicalInteger(n, what) {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new FormatError(`${what} is not an integer of at most 2^53 - 1`);
  const v = BigInt(n);
  if (v > MAX_SAFE || v < -MAX_SAFE) throw new FormatError(`${what} is not an integer of at most 2^53 - 1`);
  return String(v);
}

// canonicalRules writes a rules document in RFC 8785 form: members sorted
// by their names' UTF-16 code units (section 3.2.3; JavaScript's default
// sort), no white space, each value a boolean, an integer, a string or a
// list of strings. Anything else (null, a fraction, an object, a list of
// anything but strings) throws a FormatError.
export function canonicalRules(doc) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FormatError('the rules are not a JSON object');
  const members = Object.keys(doc).sort().map((name) => {
    const what = `the rule ${JSON.stringify(name)}`;
    const v = doc[name];
    let out;
    if (typeof v === 'boolean') out = v ? 'true' : 'false';
    else if (typeof v === 'bigint' || typeof v === 'number') out = canonicalInteger(v, what);
    else if (typeof v === 'string') out = canonicalString(v, what);
    else if (Array.isArray(v)) out = `[${v.map((x, i) => canonicalString(x, `${what}'s item ${i + 1}`)).join(',')}]`;
    else throw new FormatError(`${what} is ${v === null ? 'null' : `a ${typeof v}`}, not a boolean, an integer, a string or a list of strings`);
    return `${canonicalString(name, 'a rule\'s name')}:${out}`;
  });
  return `{${members.join(',')}}`;
}

export const rulesSha256 = (doc) => sha256(utf8.encode(canonicalRules(doc)));

// The rules a document holds, each with its type.
export const RULES = Object.freeze({
  exclude_admins: 'boolean',
  max_tickets: 'integer',
  min_account_age_days: 'integer',
  premium_only: 'boolean',
  recheck_at_draw: 'boolean',
  referral_bonus: 'integer',
  required_chats: 'strings',
});

// readRules reads the known rules of a document, each of its type, and
// names the members it does not know.
export function readRules(doc) {
  const out = { unknown: Object.keys(doc).filter((k) => !Object.hasOwn(RULES, k)).sort() };
  for (const [name, type] of Object.entries(RULES)) {
    const v = doc[name];
    if (v === undefined) fail(`the rules have no ${name}`);
    const bad = () => fail(`the rule ${name} is ${v === null ? 'null' : JSON.stringify(typeof v === 'bigint' ? String(v) : v)}, not ${type === 'strings' ? 'a list of chats' : `a ${type}`}`);
    if (type === 'boolean' && typeof v !== 'boolean') bad();
    if (type === 'integer' && typeof v !== 'bigint') bad();
    if (type === 'strings' && !(Array.isArray(v) && v.every((c) => typeof c === 'string'))) bad();
    out[name] = v;
  }
  return out;
}

// describeRules says what each rule asks, in words, as [rule, words]
// pairs.
export function describeRules(r) {
  const n = (v, one, many) => `${v} ${v === 1n ? one : many}`;
  const out = [
    ['Required chats', r.required_chats.length === 0 ? 'subscribed to the giveaway account\'s channel'
      : `subscribed to ${r.required_chats.join(', ')}`],
    ['Admins excluded', r.exclude_admins ? 'yes: the chats\' administrators and creators cannot win' : 'no: administrators may enter'],
    ['Premium only', r.premium_only ? 'yes: Telegram Premium users only' : 'no'],
    ['Minimum account age', r.min_account_age_days === 0n ? 'none'
      : `${n(r.min_account_age_days, 'day', 'days')}, as estimated from the user id`],
    ['Max tickets', `${n(r.max_tickets, 'ticket', 'tickets')} per entrant`],
    ['Referral bonus', r.referral_bonus === 0n ? 'none' : `${n(r.referral_bonus, 'ticket', 'tickets')} per invited friend who entered`],
    ['Re-check at draw', r.recheck_at_draw ? 'yes: the winners are checked against these rules again when drawn' : 'no'],
  ];
  for (const name of r.unknown) out.push([name, 'a rule this page does not know']);
  return out;
}

const short = (bytes) => `${toHex(bytes).slice(0, 16)}…`;

// checkRules checks the rules answer (the parsed body of GET /rules, an
// Error saying why it could not be had, or undefined when not fetched)
// against the record's rules_sha256 (bytes, or null when the giveaway
// committed to none) and max_tickets. It returns the check's result and
// the rules read, or throws CheckFailure or RulesNotChecked.
export async function checkRules(rec, answer) {
  const served = answer && !(answer instanceof Error) ? answer : null;
  if (rec.rulesSha256 === null) {
    if (served && served.custom === true) {
      fail(`the record commits to no rules, but the service serves rules set for this giveaway (rules_sha256 ${served.rules_sha256})`);
    }
    let rules = null;
    try {
      if (served) rules = readRules(served.rules);
    } catch {
      rules = null; // the defaults are shown only as the service states them
    }
    return {
      detail: 'no rules were committed (rules_sha256 is null): the giveaway ran on the service\'s default rules',
      rules: { committed: false, rules },
    };
  }
  if (answer === undefined) throw new RulesNotChecked('the rules were not fetched');
  if (answer instanceof Error) throw new RulesNotChecked(`the rules could not be fetched: ${answer.message}`);
  if (served.rules === null || typeof served.rules !== 'object' || Array.isArray(served.rules)) fail('the service\'s answer holds no rules object');
  let canonical;
  try {
    canonical = canonicalRules(served.rules);
  } catch (e) {
    throw new RulesNotChecked(`the rules served cannot be written in RFC 8785 form by this page (${e.message})`);
  }
  const got = await sha256(utf8.encode(canonical));
  if (!equalBytes(got, rec.rulesSha256)) {
    fail(`the rules the service serves hash to ${toHex(got)}, but the record commits to ${toHex(rec.rulesSha256)}: they are not the rules committed when the giveaway opened`);
  }
  if (served.rules_sha256 !== undefined && served.rules_sha256 !== toHex(got)) {
    fail(`the service serves rules_sha256 ${JSON.stringify(served.rules_sha256)} with rules that hash to ${toHex(got)}`);
  }
  const rules = readRules(served.rules);
  if (rules.max_tickets !== rec.maxTickets) {
    fail(`the committed rules allow ${rules.max_tickets} tickets per entrant, the record's max_tickets is ${rec.maxTickets}`);
  }
  const result = { rules: { committed: true, rules } };
  if (rules.unknown.length) {
    throw Object.assign(new RulesNotChecked(`the rules hash to the record's rules_sha256, but hold ${rules.unknown.join(', ')}, which this page ` +
      'does not know: what they ask is not checked'), result);
  }
  return { ...result, detail: `the rules the service serves hash to the record's rules_sha256 ${short(got)}: they are the rules committed when the giveaway opened` };
}

// ---------------------------------------------------------------------------
// The re-check

const ID = [1n, (1n << 63n) - 1n];
const POSITION = [1n, MAX_SAFE];
const ROUND = [0n, MAX_SAFE];

// parseRecheck reads a record's recheck member: null when absent.
export function parseRecheck(v) {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new FormatError('recheck is not an object');
  const orEmpty = (x, what) => (x === null || x === undefined ? [] : list(x, what));
  return {
    status: text(v.status, 'recheck: status'),
    checked: orEmpty(v.checked, 'recheck: checked').map((c, i) => {
      const what = `recheck: check ${i + 1}`;
      if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new FormatError(`${what} is not an object`);
      if (typeof c.passed !== 'boolean') throw new FormatError(`${what}: passed is not true or false`);
      return {
        userId: integer(c.user_id, `${what}: user_id`, ID),
        position: Number(integer(c.position, `${what}: position`, POSITION)),
        round: Number(integer(c.round, `${what}: round`, ROUND)),
        passed: c.passed,
        reason: c.reason === undefined || c.reason === '' ? null : text(c.reason, `${what}: reason`),
        checkedAt: parseTime(c.checked_at, `${what}: checked_at`),
      };
    }),
    unchecked: orEmpty(v.unchecked, 'recheck: unchecked').map((u, i) => integer(u, `recheck: unchecked ${i + 1}`, ID)),
  };
}

// checkRecheck checks the service's re-check rc (parseRecheck's) against
// the record rec (parseDrawnRecordV2's) and the current winners: each
// check is of someone drawn in that round at that position, made after
// that round was drawn; a failed check names a reason and, when the winner
// was disqualified, it was for that reason and later; once the re-check is
// complete no current winner is left unchecked or failed; the unchecked are
// current winners. reasons are the valid reasons. It returns what the
// page shows, or throws CheckFailure.
export function checkRecheck(rc, rec, current, reasons, rules) {
  const asked = rules && rules.recheck_at_draw === true;
  if (rc === null) {
    return {
      detail: asked ? 'the rules ask for a re-check of the winners at the draw, but the record reports none: whether they still met ' +
        'the rules when drawn is not stated' : 'the record reports no re-check of the winners at the draw',
      recheck: null,
    };
  }
  if (rc.status !== 'pending' && rc.status !== 'complete') fail(`the re-check's status is ${JSON.stringify(rc.status)}, not "pending" or "complete"`);
  const seats = new Map(); // user -> {round, position}
  const drawnAt = [rec.drawnAt];
  for (const w of rec.winners) seats.set(w.userId, { round: 0, position: w.position });
  const gone = new Map(); // user -> {round, reason, requestedAt}
  for (const [n, rd] of rec.rounds.entries()) {
    drawnAt.push(rd.redrawnAt);
    for (const d of rd.disqualified) gone.set(d.userId, { round: n + 1, reason: d.reason, requestedAt: rd.requestedAt });
    for (const p of rd.replacements) if (!p.empty) seats.set(p.userId, { round: n + 1, position: p.position });
  }
  const isCurrent = new Set(current.map((w) => w.userId));
  const roundName = (r) => (r === 0 ? 'the initial draw' : `redraw round ${r}`);
  const outcome = new Map(); // user -> passed, at their seat
  const rows = [];
  for (const c of rc.checked) {
    const who = `the service reports a re-check of user ${c.userId} at position ${c.position} in ${roundName(c.round)}`;
    if (c.round > rec.rounds.length) fail(`${who}, but the record has ${rec.rounds.length} redraw rounds`);
    const s = seats.get(c.userId);
    if (!s) fail(`${who}, but user ${c.userId} was never a winner in the record`);
    if (s.round !== c.round || s.position !== c.position) fail(`${who}, but the record drew user ${c.userId} at position ${s.position} in ${roundName(s.round)}`);
    if (c.checkedAt.ns < drawnAt[c.round].ns) fail(`${who} made at ${formatTime(c.checkedAt)}, before that round was drawn at ${formatTime(drawnAt[c.round])}`);
    if (c.passed && c.reason !== null) fail(`${who} that passed, yet names the reason ${JSON.stringify(c.reason)}`);
    if (!c.passed && !Object.hasOwn(reasons, c.reason ?? '')) fail(`${who} that failed for ${JSON.stringify(c.reason)}, which is not a disqualification reason`);
    if (outcome.has(c.userId) && outcome.get(c.userId) !== c.passed) fail(`${who} both passed and failed`);
    outcome.set(c.userId, c.passed);
    const d = gone.get(c.userId);
    const row = { userId: c.userId, position: c.position, round: c.round, passed: c.passed, reason: c.reason, checkedAt: formatTime(c.checkedAt) };
    if (d) row.disqualified = { round: d.round, reason: d.reason };
    if (!c.passed) {
      if (d && d.reason !== c.reason) fail(`${who} that failed for ${c.reason}, but the record disqualified user ${c.userId} in redraw round ${d.round} for ${d.reason}`);
      if (d && d.requestedAt.ns < c.checkedAt.ns) {
        fail(`${who} that failed at ${formatTime(c.checkedAt)}, after redraw round ${d.round} disqualified user ${c.userId} for it`);
      }
      if (!d && rc.status === 'complete') fail(`${who} that failed for ${c.reason}, but the re-check is complete and user ${c.userId} is still a winner`);
    }
    rows.push(row);
  }
  const listed = new Set();
  for (const u of rc.unchecked) {
    if (!isCurrent.has(u)) fail(`the service lists user ${u} as not re-checked yet, but user ${u} is not a current winner`);
    if (listed.has(u)) fail(`the service lists user ${u} as not re-checked twice`);
    if (outcome.get(u) === true) fail(`the service lists user ${u} as not re-checked, yet reports that user passed the re-check`);
    listed.add(u);
  }
  if (rc.status === 'complete' && rc.unchecked.length) fail(`the re-check is complete, yet ${rc.unchecked.length} winners are listed as not re-checked`);
  const notRechecked = [];
  for (const w of current) {
    if (outcome.has(w.userId) && !listed.has(w.userId)) continue;
    if (rc.status === 'complete') fail(`the re-check is complete, but the service reports no check of winner ${w.position}, user ${w.userId}`);
    notRechecked.push({ userId: w.userId, position: w.position });
  }
  const failed = rows.filter((r) => !r.passed).length;
  const detail = `the service reports ${rows.length} re-check${rows.length === 1 ? '' : 's'} of winners against the rules at the draw ` +
    `(${rows.length - failed} passed, ${failed} failed)` +
    (notRechecked.length ? `, ${notRechecked.length} winner${notRechecked.length === 1 ? '' : 's'} not re-checked` : '') +
    (rc.status === 'pending' ? '; the re-check is not finished' : '; the re-check is complete') +
    ': this is the service\'s statement of Telegram\'s answers, which no proof can show; it agrees with the record';
  return { detail, recheck: { status: rc.status, rows, notRechecked, asked: Boolean(asked), rulesKnown: Boolean(rules) } };
}
