// Checks the page's rules module, static/rules.js: its RFC 8785 writer
// against the service's own bytes (testdata/rules-canonical.json, written
// by internal/drawpage's TestRulesCanonicalFixture from the service's code)
// and against vectors from RFC 8785 itself; the rules check against a
// record's rules_sha256; and the re-check's consistency with the record.
// Run with `node --test rules.test.mjs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

import { CheckFailure, FormatError, fromHex, parseJSON, parseTime } from '../static/verify.js';
import {
  RulesNotChecked, canonicalRules, checkRecheck, checkRules, describeRules, parseRecheck, readRules, rulesSha256,
} from '../static/rules.js';
import { REASONS } from '../static/verify2.js';

const fixture = JSON.parse(readFileSync(new URL('../testdata/rules-canonical.json', import.meta.url), 'utf8'));
const sha = (s) => createHash('sha256').update(s, 'utf8').digest('hex');
const hex = (b) => Buffer.from(b).toString('hex');

test('rules: the page writes the service\'s bytes back from the rules as a parser reads them', async () => {
  assert.ok(fixture.cases.length >= 4);
  for (const c of fixture.cases) {
    assert.equal(sha(c.canonical), c.sha256, c.name);
    // The page reads the API with parseJSON: integers are BigInts.
    assert.equal(canonicalRules(parseJSON(c.loose)), c.canonical, c.name);
    assert.equal(canonicalRules(parseJSON(c.canonical)), c.canonical, c.name);
    // JSON.parse's numbers are written the same.
    assert.equal(canonicalRules(JSON.parse(c.loose)), c.canonical, c.name);
    assert.equal(hex(await rulesSha256(parseJSON(c.loose))), c.sha256, c.name);
  }
});

// RFC 8785 section 3.2.3: members sorted by the UTF-16 code units of their
// names.
test('rules: RFC 8785 3.2.3, members in UTF-16 code unit order', () => {
  const input = String.raw`{
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }`;
  const want = '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
    '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
  assert.equal(canonicalRules(parseJSON(input)), want);
});

// RFC 8785 section 3.2.2.2 and the sample of section 3.2.4: strings keep
// only the escapes JSON needs, in lowercase \u form for controls; literals.
test('rules: RFC 8785 3.2.2.2 and 3.2.4, strings and literals', () => {
  const input = String.raw`{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [true, false]}`;
  const doc = parseJSON(input);
  // A list of booleans is not a rules value; the literals on their own are.
  assert.throws(() => canonicalRules(doc), FormatError);
  delete doc.literals;
  Object.assign(doc, { yes: true, no: false });
  assert.equal(canonicalRules(doc), String.raw`{"no":false,"string":"€$\u000f\nA'B\"\\\\\"/","yes":true}`);
  // RFC 8785 3.2.2.3: integers in plain decimal, minus zero as 0.
  assert.equal(canonicalRules(parseJSON('{"a": -0, "b": 9007199254740991, "c": -9007199254740991, "d": 100}')),
    '{"a":0,"b":9007199254740991,"c":-9007199254740991,"d":100}');
  assert.equal(canonicalRules({}), '{}');
  assert.equal(canonicalRules({ chats: [] }), '{"chats":[]}');
});

test('rules: anything outside a rules document\'s shape is refused, not guessed at', () => {
  for (const [name, doc] of [
    ['null', parseJSON('{"a": null}')],
    ['a fraction', parseJSON('{"a": 1.5}')],
    ['an exponent', parseJSON('{"a": 1E30}')],
    ['beyond 2^53 - 1', parseJSON('{"a": 9007199254740992}')],
    ['an object', parseJSON('{"a": {"b": true}}')],
    ['a list of numbers', parseJSON('{"a": [1, 2]}')],
    ['a lone surrogate', parseJSON(String.raw`{"a": "\ud800"}`)],
    ['a lone surrogate in a name', parseJSON(String.raw`{"\udc00": true}`)],
    ['a list', []],
    ['a string', 'rules'],
  ]) {
    assert.throws(() => canonicalRules(doc), FormatError, name);
  }
});

const RULES = fixture.cases.find((c) => c.name === 'one chat, five tickets, 30 days');
const answer = (text, extra = {}) => ({ success: true, giveaway_id: 7n, rules: parseJSON(text), rules_sha256: sha(text), custom: true, locked: true, ...extra });
const recWith = (hash, maxTickets = 5n) => ({ rulesSha256: hash === null ? null : fromHex(hash, 'hash', 32), maxTickets });

test('rules check: rules that hash to rules_sha256 pass and are described; others fail', async () => {
  const ok = await checkRules(recWith(RULES.sha256), answer(RULES.loose, { rules_sha256: RULES.sha256 }));
  assert.match(ok.detail, /hash to the record's rules_sha256/);
  assert.deepEqual(describeRules(ok.rules.rules), [
    ['Required chats', 'subscribed to @telegive'],
    ['Admins excluded', 'yes: the chats\' administrators and creators cannot win'],
    ['Premium only', 'no'],
    ['Minimum account age', '30 days, as estimated from the user id'],
    ['Max tickets', '5 tickets per entrant'],
    ['Referral bonus', 'none'],
    ['Re-check at draw', 'no'],
  ]);
  const other = RULES.canonical.replace('"min_account_age_days":30', '"min_account_age_days":31');
  await assert.rejects(checkRules(recWith(RULES.sha256), answer(other)), (e) => e instanceof CheckFailure && /hash to [0-9a-f]{64}, but the record commits to/.test(e.message));
  await assert.rejects(checkRules(recWith(RULES.sha256), answer(RULES.canonical, { rules_sha256: sha('x') })), /serves rules_sha256/);
  await assert.rejects(checkRules(recWith(RULES.sha256, 4n), answer(RULES.canonical)), /allow 5 tickets per entrant, the record's max_tickets is 4/);
});

test('rules check: rules that cannot be had or read are not checked, which is no pass', async () => {
  await assert.rejects(checkRules(recWith(RULES.sha256), new Error('HTTP 503')), (e) => e instanceof RulesNotChecked && /could not be fetched: HTTP 503/.test(e.message));
  await assert.rejects(checkRules(recWith(RULES.sha256), undefined), RulesNotChecked);
  await assert.rejects(checkRules(recWith(RULES.sha256), answer('{"max_tickets": 5, "odds": 0.5}')), RulesNotChecked);
  // An unknown rule: the hash matches, but what it asks is not checked.
  const extra = RULES.canonical.replace('{', '{"aaa_new_rule":true,');
  await assert.rejects(checkRules(recWith(sha(extra)), answer(extra)), (e) => e instanceof RulesNotChecked && e.rules.rules.unknown[0] === 'aaa_new_rule');
});

test('rules check: a record without rules ran on the defaults; the service must not claim custom ones', async () => {
  const defaults = fixture.cases.find((c) => c.name === 'defaults');
  const none = await checkRules(recWith(null, 1n), answer(defaults.canonical, { custom: false }));
  assert.equal(none.rules.committed, false);
  assert.equal(readRules(parseJSON(defaults.canonical)).exclude_admins, true);
  assert.equal((await checkRules(recWith(null, 1n), new Error('HTTP 404'))).rules.committed, false);
  await assert.rejects(checkRules(recWith(null, 1n), answer(RULES.canonical)), /commits to no rules, but the service serves rules set/);
});

// A drawn record as parseDrawnRecordV2 reads it, as far as the re-check
// needs: winners 1 and 2; user 2 disqualified for not_subscribed in round
// 1 and replaced by user 3.
const T = (s) => ({ ...parseTime(s, 't'), s: parseTime(s, 't').ns / 1000000000n });
const REC = {
  drawnAt: T('2026-12-01T10:00:00Z'),
  winners: [{ userId: 1n, position: 1 }, { userId: 2n, position: 2 }],
  rounds: [{ disqualified: [{ userId: 2n, reason: 'not_subscribed' }], requestedAt: T('2026-12-01T10:01:00Z'), redrawnAt: T('2026-12-01T10:01:12Z'),
    replacements: [{ position: 2, userId: 3n, empty: false, replaces: 2n }] }],
};
const CURRENT = [{ userId: 1n, position: 1 }, { userId: 3n, position: 2 }];
const raw = (checked, unchecked, status = 'pending') => parseJSON(JSON.stringify({ status, checked, unchecked }));
const c = (user_id, position, round, passed, reason, at = '2026-12-01T10:00:05Z') => ({ user_id, position, round, passed, checked_at: at, ...(reason ? { reason } : {}) });
const honest = [c(1, 1, 0, true), c(2, 2, 0, false, 'not_subscribed')];

test('re-check: the service\'s statement is shown as such, with who was not re-checked', () => {
  const r = checkRecheck(parseRecheck(raw(honest, [3])), REC, CURRENT, REASONS, { recheck_at_draw: true });
  assert.equal(r.recheck.status, 'pending');
  assert.deepEqual(r.recheck.notRechecked, [{ userId: 3n, position: 2 }]);
  assert.deepEqual(r.recheck.rows.map((x) => [x.userId, x.passed, x.disqualified && x.disqualified.reason]), [[1n, true, undefined], [2n, false, 'not_subscribed']]);
  assert.match(r.detail, /service's statement/);
  const done = checkRecheck(parseRecheck(raw([...honest, c(3, 2, 1, true, null, '2026-12-01T10:01:20Z')], [], 'complete')), REC, CURRENT, REASONS, null);
  assert.deepEqual(done.recheck.notRechecked, []);
  assert.equal(checkRecheck(null, REC, CURRENT, REASONS, { recheck_at_draw: true }).recheck, null);
  assert.match(checkRecheck(null, REC, CURRENT, REASONS, { recheck_at_draw: true }).detail, /rules ask for a re-check/);
});

test('re-check: what the record contradicts fails', () => {
  for (const [name, rc, want] of [
    ['never a winner', raw([...honest, c(9, 1, 0, true)], [3]), /user 9 was never a winner/],
    ['another reason', raw([c(1, 1, 0, true), c(2, 2, 0, false, 'admin')], [3]), /failed for admin, but the record disqualified user 2 in redraw round 1 for not_subscribed/],
    ['wrong position', raw([c(1, 2, 0, true)], [3]), /drew user 1 at position 1 in the initial draw/],
    ['a round not drawn', raw([c(3, 2, 2, true)], []), /the record has 1 redraw rounds/],
    ['before its round', raw([c(3, 2, 1, true)], []), /before that round was drawn/],
    ['failed after its disqualification', raw([c(1, 1, 0, true), c(2, 2, 0, false, 'not_subscribed', '2026-12-01T10:02:00Z')], [3]), /after redraw round 1 disqualified/],
    ['failed without a reason', raw([c(1, 1, 0, false)], [3]), /not a disqualification reason/],
    ['complete with a winner left', raw(honest, [3], 'complete'), /complete, yet 1 winners are listed/],
    ['complete, a winner never checked', raw(honest, [], 'complete'), /no check of winner 2, user 3/],
    ['complete, a failed winner kept', raw([c(1, 1, 0, false, 'admin'), c(2, 2, 0, false, 'not_subscribed')], [3], 'complete'), /still a winner/],
    ['unchecked not a winner', raw(honest, [3, 2]), /user 2 as not re-checked yet, but user 2 is not a current winner/],
    ['an unknown status', raw(honest, [3], 'done'), /status is "done"/],
  ]) {
    assert.throws(() => checkRecheck(parseRecheck(rc), REC, CURRENT, REASONS, null), (e) => e instanceof CheckFailure && want.test(e.message), name);
  }
});
