// The draw page: fetches a giveaway's public draw record and proofs from
// this origin, runs verify.js (telegive-draw-v1) or verify2.js
// (telegive-draw-v2) on them and shows the result. All data from the server
// is put in the page with textContent, never parsed as HTML.
import { formatTime, parseJSON, parseTime, toHex, unverifiedDraw, verifyDraw, verifyParticipant } from './verify.js';
import {
  FAILED, REASONS, SERVICE_KEYS, VERIFIED, VERSION_V2, drawAssurance, verifyDrawV2, verifyParticipantV2,
} from './verify2.js';
import { describeRules } from './rules.js';

const $ = (id) => document.getElementById(id);

const STATUS_TEXT = {
  pass: ['✓', 'Passed'],
  fail: ['✗', 'Failed'],
  skip: ['–', 'Not run'],
  info: ['i', 'Note'],
  unverified: ['?', 'Not confirmed'],
  trust: ['!', 'On trust'],
};

// Ids are int64: 1 to 2^63 - 1, kept as BigInts so none is rounded.
const MAX_ID = (1n << 63n) - 1n;

// el builds an element; children are nodes or strings (as text).
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

// ---------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function getJSON(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check your connection and try again.');
  }
  let body = null;
  try {
    body = parseJSON(await res.text()); // integers as BigInts: ids beyond 2^53 stay exact
  } catch {
    // Not JSON: a proxy's error page, say. The status says enough.
  }
  if (!res.ok || !body || body.success !== true) {
    const code = (body && body.error_code) || `HTTP_${res.status}`;
    const message = (body && body.error) || `The server answered ${res.status} ${res.statusText}.`;
    throw new ApiError(res.status, code, message);
  }
  return body;
}

// giveawayIdFromPath reads /draws/{id}; anything but an id from 1 to
// 2^63 - 1 is refused before asking the server.
function giveawayIdFromPath(path) {
  const m = /^\/draws\/([0-9]{1,19})\/?$/.exec(path);
  const id = m ? BigInt(m[1]) : 0n;
  return id >= 1n && id <= MAX_ID ? id : null;
}

// ---------------------------------------------------------------------------
// States

function setState(state, status) {
  document.body.dataset.state = state;
  $('status').textContent = status;
  for (const id of ['error', 'committed', 'drawn']) $(id).hidden = id !== state;
}

function showError(title, text) {
  $('error-title').textContent = title;
  $('error-text').textContent = text;
  setState('error', title);
}

function explainLoadError(e, id) {
  switch (e.code) {
    case 'DRAW_NOT_FOUND':
      return [`No draw for giveaway ${id}`, 'This giveaway has no published draw: no commitment has been made yet, ' +
        'or the link is wrong. Come back once the giveaway has started.'];
    case 'NETWORK':
      return ['Could not reach the server', e.message];
    case 'RATE_LIMITED':
      return ['Too many requests', 'Please wait a minute and try again.'];
    default:
      if (e.status === 400) return ['Malformed giveaway id', `The server refused the id ${id}: ${e.message}`];
      return ['The draw could not be loaded', `${e.message} (${e.code})`];
  }
}

// Every time on the page is shown one way: RFC 3339 in UTC, to the second
// (formatTime). A time that does not parse is shown as sent; the record
// check reports it.
function timeText(v) {
  try {
    return formatTime(parseTime(v, 'the time'));
  } catch {
    return String(v);
  }
}

function timeEl(v) {
  return el('time', { datetime: String(v) }, timeText(v));
}

function showCommitted(record) {
  $('commitment').textContent = String(record.commitment);
  $('committed-at').dateTime = String(record.committed_at);
  $('committed-at').textContent = timeText(record.committed_at);
  if (record.status === 'frozen') {
    // v2, between the freeze and the draw: the record's own statement of
    // what it waits for; nothing of it is checked until the draw.
    $('committed-title').textContent = 'Entries closed, not drawn yet';
    $('frozen-note').replaceChildren(`Entries closed at `, timeEl(record.frozen_at), `, the record says. The winners will be drawn ` +
      `from drand's public randomness of round ${record.beacon_round}, which nobody knows before it is published. ` +
      'This page checks it all once the draw is published.');
    $('frozen-note').hidden = false;
  }
  setState('committed', 'The draw has not happened yet.');
}

// ---------------------------------------------------------------------------
// The drawn record

function checkItem(c) {
  const [icon, label] = STATUS_TEXT[c.status];
  return el('li', { class: `check ${c.status}`, dataset: { check: c.id, status: c.status } },
    el('span', { class: 'badge' }, el('span', { 'aria-hidden': 'true' }, icon), ` ${label}`),
    el('div', { class: 'check-body' },
      el('h3', {}, c.title),
      el('p', {}, ...withTimes(upperFirst(c.detail)))));
}

// withTimes marks up the times in a check's text (verify.js writes them
// with formatTime) as <time> elements, which do not break across lines.
function withTimes(text) {
  return text.split(/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)/).map((part, i) => (i % 2 ? el('time', { datetime: part }, part) : part));
}

const upperFirst = (s) => s.charAt(0).toUpperCase() + s.slice(1);

function showChecks(list, checks) {
  list.replaceChildren(...checks.map(checkItem));
  list.setAttribute('aria-busy', 'false');
  list.dataset.done = 'true';
}

// showVerdict says "Verified" only when every check ran and passed, and
// otherwise names the checks that failed or did not run.
function showVerdict(checks) {
  const why = unverifiedDraw(checks);
  const failed = checks.some((c) => c.status === 'fail');
  $('verdict-title').textContent = failed ? 'Verification failed' : why ? 'Not verified' : 'Verified';
  $('verdict').textContent = failed
    ? `${upperFirst(why)}, listed below: this draw does not match what the server published.`
    : why
      ? `${upperFirst(why)}, so the draw is not verified; the others passed.`
      : `All ${checks.length} checks passed: the winners follow from the seed committed to before the draw. ` +
        'That seed was the organiser\'s, so this result trusts the organiser (telegive-draw-v1, below).';
  $('verdict').parentElement.dataset.verdict = why ? 'fail' : 'pass';
}

// The verdict on a v2 draw whose every check passed with the log's and
// witnesses' keys as the service gave them.
const SERVICE_KEYS_TITLE = 'Checked, trusting this service\'s log and witness keys';

// counted is the number of checks that show something: notes (the
// service's re-check, a key no attestation needs) are not counted.
const counted = (checks) => checks.filter((c) => c.status !== 'info').length;

// showVerdictV2 says "Verified" (green) only when every check ran and
// passed with the log's and witnesses' keys pinned in this page. When
// every check ran and passed but those keys are the service's own word, it
// says so (amber) and points to the keys to compare; any failed check, or
// one that did not run, is "Verification failed" or "Not verified".
function showVerdictV2(checks) {
  const assurance = drawAssurance(checks);
  const why = unverifiedDraw(checks);
  let title;
  let text;
  let verdict;
  switch (assurance) {
    case VERIFIED:
      [title, verdict] = ['Verified', 'pass'];
      text = `All ${counted(checks)} checks passed: the winners follow from public randomness published after entries closed, ` +
        'as independent witnesses attest, whose keys are pinned in this page.';
      break;
    case SERVICE_KEYS:
      [title, verdict] = [SERVICE_KEYS_TITLE, 'checked'];
      text = `All ${counted(checks)} checks ran and passed: the winners follow from drand's public randomness and the entries. ` +
        'But the draw log\'s and the witnesses\' keys came from this service, not from this page, so that entries closed ' +
        'before the randomness was published rests on its word: compare the keys below with the ones its organiser published.';
      break;
    case FAILED:
      [title, verdict] = ['Verification failed', 'fail'];
      text = `${upperFirst(why)}, listed below: this draw does not match what the server published.`;
      break;
    default:
      [title, verdict] = ['Not verified', 'fail'];
      text = `${upperFirst(why)}, so the draw is not verified; the others passed.`;
  }
  $('verdict-title').textContent = title;
  $('verdict').textContent = text;
  $('verdict').parentElement.dataset.verdict = verdict;
  $('verdict').parentElement.dataset.assurance = assurance;
}

// showKeys lists the log's and the witnesses' keys the attestations were
// checked with, and where they came from, so that a participant can
// compare them with the keys the organiser published elsewhere.
function showKeys(keys) {
  if (!keys) return;
  const server = keys.source !== 'pinned';
  $('keys-panel').dataset.source = server ? 'server' : 'pinned';
  $('keys-title').textContent = server ? 'Keys to compare' : 'Keys pinned in this page';
  $('keys-text').textContent = server
    ? 'This page checked the draw log\'s and the witnesses\' signatures with these keys, which this service gave ' +
      '(/api/participants/log/key). Compare them with the keys the organiser published apart from this service, in its ' +
      'documentation or its channel: if every key and the quorum match, the witnesses\' signatures are theirs, and the ' +
      'service could not have made them itself. If any differs, do not trust this draw.'
    : 'This page checked the draw log\'s and the witnesses\' signatures with these keys, pinned in it as the deployment ' +
      'published them; the service serves the same.';
  $('keys-list').replaceChildren(
    el('dt', {}, 'Draw log key'), el('dd', {}, el('code', { class: 'hash', dataset: { key: 'log' } }, keys.log)),
    el('dt', {}, `Witness keys (${keys.quorum} of ${keys.witnesses.length} must cosign)`),
    ...keys.witnesses.map((w) => el('dd', {}, el('code', { class: 'hash', dataset: { key: 'witness' } }, w))));
  $('keys-panel').hidden = false;
}

// showProtocol says what a draw of this version can show at best, so that
// a v1 draw that checks out is not mistaken for one nobody could steer.
function showProtocol(version) {
  const v1 = version !== VERSION_V2;
  $('protocol').dataset.protocol = v1 ? 'v1' : 'v2';
  $('protocol-title').textContent = v1 ? 'This draw trusts the organiser' : 'Drawn with public randomness';
  $('protocol-text').textContent = v1
    ? 'It uses the first version of the protocol (telegive-draw-v1). The checks show that the winners follow from a secret ' +
      'seed the organiser committed to before the draw, but the organiser knew that seed all along: they could have worked ' +
      'out the winners in advance for any list of entrants, and added or held back entries until the draw suited them. ' +
      'Newer draws (telegive-draw-v2) use public randomness that nobody knows in advance.'
    : 'It uses telegive-draw-v2: the entrants and their tickets were fixed first, then the winners were drawn with randomness ' +
      'that drand\'s public beacon published afterwards. The checks below say how much of that this page could confirm.';
  $('protocol').hidden = false;
}

const num = (v) => (typeof v === 'bigint' ? v.toLocaleString('en') : String(v));

function showFacts(raw) {
  const count = Array.isArray(raw.winners) ? raw.winners.length : 0;
  const tickets = raw.version === VERSION_V2 ? ` holding ${num(raw.total_tickets)} tickets` : '';
  $('facts').replaceChildren(`Giveaway ${raw.giveaway_id} · ${num(raw.entrants_count)} entrants${tickets} · ` +
    `${count} ${count === 1 ? 'winner' : 'winners'} · drawn `, timeEl(raw.drawn_at));
}

function showWinners(rec, winners) {
  $('winners').tBodies[0].replaceChildren(...winners.map((w) => {
    const replacement = w.replaces !== undefined;
    const data = replacement ? { user: String(w.userId), replaces: String(w.replaces) } : { user: String(w.userId) };
    return el('tr', { dataset: data, class: replacement ? 'replacement' : '' },
      el('td', {}, String(w.position)), el('td', {}, String(w.userId)), el('td', {}, String(w.index)),
      el('td', { class: 'how' }, replacement ? `Redraw round ${w.round}, replacing user ${w.replaces}` : 'Initial draw'));
  }));
  $('winners').hidden = winners.length === 0;
  $('no-winners').hidden = winners.length > 0;
  $('rounds').replaceChildren(...rec.rounds.map((r, i) => el('div', { class: 'round' },
    el('h3', {}, `Redraw round ${i + 1}`),
    el('p', {}, `Disqualified: ${r.disqualified.join(', ')}. Reason: ${r.reason || 'none given'}. `,
      'Redrawn ', timeEl(r.redrawnAt.text), '.'),
    el('ul', {}, ...r.replacements.map((p) => el('li', {},
      `Position ${p.position}: user ${p.userId} (index ${p.index}) replaces user ${p.replaces}`))),
    r.replacements.length < r.disqualified.length ? el('p', { class: 'hint' }, 'The entrants ran out: some positions stay empty.') : '')));
}

const RECORD_FIELDS_V2 = [
  ['version', 'Protocol'],
  ['commitment', 'Commitment'],
  ['committed_at', 'Committed at'],
  ['chain_hash', 'Beacon chain (drand)'],
  ['beacon_delay', 'Beacon delay (seconds)'],
  ['max_tickets', 'Most tickets per entrant'],
  ['entrants_count', 'Entrants'],
  ['total_tickets', 'Tickets'],
  ['entrants_root', 'Entrants root (Merkle sum tree)'],
  ['winner_count_requested', 'Winners requested'],
  ['frozen_at', 'Entries closed at'],
  ['beacon_round', 'Beacon round'],
  ['freeze_attested', 'Freeze witnessed'],
  ['server_seed', 'Revealed server seed'],
  ['beacon_signature', 'Beacon signature'],
  ['draw_seed', 'Draw seed'],
  ['drawn_at', 'Drawn at'],
];

const RECORD_FIELDS = [
  ['version', 'Protocol'],
  ['commitment', 'Commitment'],
  ['committed_at', 'Committed at'],
  ['server_seed', 'Revealed server seed'],
  ['entrants_count', 'Entrants'],
  ['entrants_root', 'Entrants root (Merkle)'],
  ['beacon', 'Beacon'],
  ['draw_seed', 'Draw seed'],
  ['winner_count_requested', 'Winners requested'],
  ['drawn_at', 'Drawn at'],
];

const TIME_FIELDS = new Set(['committed_at', 'frozen_at', 'drawn_at']);

function showRecord(raw, fields = RECORD_FIELDS) {
  $('record-fields').replaceChildren(...fields.flatMap(([key, label]) => {
    const v = raw[key] === '' ? 'none' : String(raw[key]);
    const shown = TIME_FIELDS.has(key) ? timeEl(raw[key]) : /^[0-9a-f]{32,}$/.test(v) ? el('code', { class: 'hash' }, v) : v;
    return [el('dt', {}, label), el('dd', {}, shown)];
  }));
  $('raw').textContent = prettyJSON(raw);
}

// prettyJSON is JSON.stringify(v, null, 2) for values that parseJSON made,
// whose integers are BigInts (which JSON.stringify refuses).
function prettyJSON(v, indent = '') {
  const inner = `${indent}  `;
  if (typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) {
    return v.length ? `[\n${v.map((x) => inner + prettyJSON(x, inner)).join(',\n')}\n${indent}]` : '[]';
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    return keys.length ? `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${prettyJSON(v[k], inner)}`).join(',\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(v);
}

async function showDrawn(id, raw) {
  setState('drawn', 'Verifying the draw in your browser…');
  showProtocol(raw.version);
  showRecord(raw);
  showFacts(raw);
  const winnerProofs = await getJSON(`/api/participants/${id}/draw/winner-proofs`)
    .then((b) => b.proofs, (e) => new Error(e.message));
  const result = await verifyDraw(raw, { giveawayId: id, winnerProofs });
  showChecks($('checks'), result.checks);
  showVerdict(result.checks);
  $('status').textContent = $('verdict').textContent;
  if (result.record) {
    showWinners(result.record, result.winners);
    enableParticipantForm(id, result);
  } else {
    $('winners').hidden = true;
    $('me-error').textContent = 'The record could not be read, so entries cannot be checked.';
    $('me-error').hidden = false;
  }
}

// ---------------------------------------------------------------------------
// A v2 draw

async function showDrawnV2(id, raw) {
  setState('drawn', 'Verifying the draw in your browser…');
  showProtocol(VERSION_V2);
  showRecord(raw, RECORD_FIELDS_V2);
  showFacts(raw);
  const [winnerProofs, logKeys, rules] = await Promise.all([
    getJSON(`/api/participants/${id}/draw/winner-proofs`).then((b) => b.proofs, (e) => new Error(e.message)),
    getJSON('/api/participants/log/key').then((b) => b, (e) => new Error(e.message)),
    getJSON(`/api/participants/${id}/rules`).then((b) => b, (e) => new Error(e.message)),
  ]);
  const result = await verifyDrawV2(raw, { giveawayId: id, winnerProofs, logKeys, rules });
  showChecks($('checks'), result.checks);
  showVerdictV2(result.checks);
  $('status').textContent = $('verdict').textContent;
  if (result.record) {
    showKeys(result.facts.keys);
    showTimeline(result);
    showRules(result);
    showWinnersV2(result.record, result.winners, result.facts);
    showRecheck(result);
    enableParticipantForm(id, result);
  } else {
    $('winners').hidden = true;
    $('me-error').textContent = 'The record could not be read, so entries cannot be checked.';
    $('me-error').hidden = false;
  }
}

const seconds = (n) => (n === 1n ? '1 second' : n < 120n ? `${n} seconds` : `${n / 60n} minutes ${n % 60n} seconds`);
const unixText = (s) => formatTime({ ns: s * 1000000000n });

// showTimeline tells what happened when, in plain words, and claims only
// what the checks confirmed: the randomness only if its checks passed,
// and "nobody could know it" only if witnesses whose keys the page pins
// attest that entries closed before it was published.
function showTimeline({ record: rec, facts, checks }) {
  const ok = (...ids) => ids.every((i) => checks.find((c) => c.id === i).status === 'pass');
  const randomness = ok('chain', 'timing', 'beacon-round', 'beacon', 'draw-seed', 'winners');
  const witnessed = ok('attestation', 'keys');
  const gap = facts.roundTime === null ? null : facts.roundTime - rec.frozenAt.s;
  const items = [
    [rec.committedAt.text, 'The giveaway opened: the organiser published a commitment to a secret seed.'],
    [rec.frozenAt.text, witnessed
      ? `Entries closed with ${rec.entrantsCount.toLocaleString('en')} entrants holding ${rec.totalTickets.toLocaleString('en')} tickets; ` +
        `witnesses recorded it (${facts.attestation.cosigners.map((c) => `${c.name} at ${unixText(c.time)}`).join(', ')}).`
      : `Entries closed with ${rec.entrantsCount.toLocaleString('en')} entrants holding ${rec.totalTickets.toLocaleString('en')} tickets, ` +
        'the organiser says (no witness this page trusts recorded it).'],
    ...(gap === null ? [] : [[unixText(facts.roundTime), randomness
      ? `drand's ${facts.chain} beacon published round ${rec.beaconRound}, ${seconds(gap)} after entries closed; its randomness decided the winners.`
      : `Beacon round ${rec.beaconRound} was due: its randomness could not be confirmed.`]]),
    [rec.drawnAt.text, `The winners were drawn and the secret seed revealed.`],
    ...rec.rounds.flatMap((rd, n) => [[rd.requestedAt.text, `Redraw round ${n + 1} requested: ${rd.disqualified.length} ` +
      `${rd.disqualified.length === 1 ? 'winner' : 'winners'} disqualified; it waits for beacon round ${rd.beaconRound}.`],
    [rd.redrawnAt.text, `Redraw round ${n + 1}: replacements drawn.`]]),
  ];
  $('timeline').replaceChildren(...items.map(([t, what]) => el('li', {}, timeEl(t), ' ', what)));
  let summary;
  if (randomness && witnessed) {
    summary = `The winners were decided by public randomness published ${seconds(gap)} after entries closed; ` +
      'nobody, not even the organiser, could know it in advance.';
  } else if (randomness) {
    const whose = rec.freezeAttested ? 'the service\'s word: the witnesses\' keys came from the service itself and are not pinned in this page'
      : 'the organiser\'s word: no witness recorded when entries closed';
    summary = `The winners were decided by drand's public randomness of round ${rec.beaconRound}, published ${seconds(gap)} after ` +
      `entries closed, the record says. That entries really closed before that randomness was known rests on ${whose}.`;
  } else {
    summary = 'This page could not confirm that the winners come from public randomness: see the checks that failed or did not run.';
  }
  $('timeline-summary').textContent = summary;
  $('timeline-summary').dataset.claim = randomness && witnessed ? 'unpredictable' : randomness ? 'trust' : 'none';
  $('timeline-panel').hidden = false;
}

// ticketNumbers names an entrant's tickets as people count them: "ticket
// 17", "tickets 17 to 19".
const ticketNumbers = (first, held) => (held === 1n ? `ticket ${first}` : `tickets ${first} to ${first + held - 1n}`);

// showRules shows the giveaway's rules in words and what the rules check
// found: checked against the record's hash, failed, not checked, or none
// committed (the defaults, as the service states them).
function showRules({ record: rec, facts, checks }) {
  const c = checks.find((x) => x.id === 'rules');
  const got = facts.rules;
  let state;
  let words;
  if (rec.rulesSha256 === null) {
    state = 'none';
    words = 'No rules were committed when the giveaway opened (the record\'s rules_sha256 is null), so it ran on the service\'s ' +
      'default rules.' + (got && got.rules ? ' The service states its defaults as below; nothing in the record commits to them.' : '');
  } else if (c.status === 'pass') {
    state = 'checked';
    words = 'These are the rules the record committed to when the giveaway opened: this page wrote them in their canonical ' +
      'form (RFC 8785) and their SHA-256 is the record\'s rules_sha256.';
  } else if (c.status === 'fail') {
    state = 'failed';
    words = `The rules could not be matched with the record: ${c.detail}.`;
  } else {
    state = 'not-checked';
    words = `Rules not checked: ${c.detail.replace(/^not checked: /, '')}. The record commits to rules with SHA-256 ${toHex(rec.rulesSha256)}.`;
  }
  $('rules-panel').dataset.state = state;
  $('rules-text').textContent = words;
  const shown = got && got.rules && state !== 'failed' ? describeRules(got.rules) : [];
  $('rules-list').replaceChildren(...shown.flatMap(([rule, what]) => [el('dt', {}, rule), el('dd', {}, what)]));
  $('rules-panel').hidden = false;
}

// showRecheck presents the service's re-check of the winners as its
// statement, never as something this page verified.
function showRecheck({ facts, checks }) {
  const c = checks.find((x) => x.id === 'recheck');
  const rc = facts.recheck;
  const panel = $('recheck-panel');
  if (c.status === 'fail') {
    panel.dataset.state = 'failed';
    $('recheck-text').textContent = `The service's re-check of the winners disagrees with the record: ${c.detail}.`;
    $('recheck-list').replaceChildren();
    $('recheck-status').textContent = '';
    panel.hidden = false;
    return;
  }
  if (!rc) {
    panel.dataset.state = 'none';
    $('recheck-text').textContent = `${upperFirst(c.detail)}.`;
    $('recheck-list').replaceChildren();
    $('recheck-status').textContent = '';
    panel.hidden = !(facts.rules && facts.rules.committed && facts.rules.rules.recheck_at_draw);
    return;
  }
  panel.dataset.state = rc.status;
  $('recheck-text').textContent = 'The service reports that it re-checked the winners against the rules at the draw. This is its ' +
    'statement of what Telegram answered, which no proof can show: this page only checks that it agrees with the record.' +
    (rc.rulesKnown && !rc.asked ? ' The committed rules do not ask for this re-check.' : '');
  const round = (r) => (r === 0 ? 'initial draw' : `redraw round ${r}`);
  $('recheck-list').replaceChildren(
    ...rc.rows.map((r) => el('li', { dataset: { user: String(r.userId), outcome: r.passed ? 'passed' : 'failed' } },
      `User ${r.userId}, position ${r.position} (${round(r.round)}): `,
      r.passed ? 'passed, the service reports' : `failed, the service reports: ${REASONS[r.reason] ?? r.reason}`,
      ' (checked ', timeEl(r.checkedAt), ')',
      r.disqualified ? `; disqualified in redraw round ${r.disqualified.round} (${REASONS[r.disqualified.reason] ?? r.disqualified.reason})`
        : r.passed ? '' : '; still a winner until a redraw round replaces them')),
    ...rc.notRechecked.map((w) => el('li', { dataset: { user: String(w.userId), outcome: 'not-rechecked' } },
      `User ${w.userId}, position ${w.position}: not re-checked`)));
  $('recheck-status').textContent = rc.status === 'pending' ? 'The re-check is not finished: the winners may still change.'
    : 'The re-check is complete, the service says.';
  panel.hidden = false;
}

function showWinnersV2(rec, winners, facts) {
  $('winners').tHead.replaceChildren(el('tr', {}, ...['Position', 'User id', 'Tickets', 'Winning ticket', 'Drawn in']
    .map((h) => el('th', { scope: 'col' }, h))));
  $('winners').tBodies[0].replaceChildren(...winners.map((w) => {
    const replacement = w.replaces !== undefined;
    const data = replacement ? { user: String(w.userId), replaces: String(w.replaces) } : { user: String(w.userId) };
    return el('tr', { dataset: data, class: replacement ? 'replacement' : '' },
      el('td', {}, String(w.position)), el('td', {}, String(w.userId)),
      el('td', { class: 'tickets' }, `${w.tickets.toLocaleString('en')} of ${rec.totalTickets.toLocaleString('en')} (${ticketNumbers(w.first, w.tickets)})`),
      el('td', {}, w.ticket.toLocaleString('en')),
      el('td', { class: 'how' }, replacement ? `Redraw round ${w.round}, replacing user ${w.replaces}` : 'Initial draw'));
  }));
  $('winners').hidden = winners.length === 0;
  $('no-winners').textContent = rec.entrantsCount === 0n ? 'Nobody entered, so nobody won.' : 'No position has a winner.';
  $('no-winners').hidden = winners.length > 0;
  const gone = facts.disqualified;
  const counts = new Map();
  for (const d of gone) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
  $('disqualified').textContent = gone.length === 0 ? 'No winner was disqualified.'
    : `${gone.length} ${gone.length === 1 ? 'winner was' : 'winners were'} disqualified: ` +
      `${[...counts].map(([r, n]) => `${REASONS[r] ?? r} (${n})`).join(', ')}.`;
  $('disqualified').hidden = false;
  $('rounds').replaceChildren(...rec.rounds.map((rd, i) => el('div', { class: 'round', dataset: { round: String(i + 1) } },
    el('h3', {}, `Redraw round ${i + 1}`),
    el('p', {}, `Disqualified: ${rd.disqualified.map((d) => `user ${d.userId} (${REASONS[d.reason] ?? d.reason})`).join(', ')}. `,
      'Requested ', timeEl(rd.requestedAt.text), `, drawn with beacon round ${rd.beaconRound}, `, timeEl(rd.redrawnAt.text), '.'),
    el('ul', {}, ...rd.replacements.map((p, j) => {
      const d = rd.disqualified[j];
      const why = d ? `, disqualified: ${REASONS[d.reason] ?? d.reason}` : '';
      return el('li', { dataset: { position: String(p.position), replaces: String(p.replaces) } }, p.empty
        ? `Position ${p.position} (user ${p.replaces}${why}): no one left to draw, so it stays empty`
        : `Position ${p.position}: user ${p.userId} (ticket ${p.ticket}) replaces user ${p.replaces}${why}`);
    })))));
}

// ---------------------------------------------------------------------------
// The participant's own check

// parseUserId reads an id from 1 to 2^63 - 1 as a BigInt, or returns the
// reason it is not one.
function parseUserId(text) {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) return 'Type your Telegram user id: digits only, such as 123456789.';
  const n = BigInt(t);
  if (n < 1n) return 'A Telegram user id is at least 1.';
  if (n > MAX_ID) return `A Telegram user id is at most ${MAX_ID}.`;
  return n;
}

// The headline states a win or a loss only when verifyParticipant confirmed
// it; 'unknown' is anything short of that. A v2 result checked with the
// service's keys says so in the headline itself.
const checkedBy = (r) => (r.assurance === SERVICE_KEYS ? ` (${SERVICE_KEYS_TITLE.toLowerCase()})` : '');
const HEADLINES = {
  won: (u, r) => (r.replaces === undefined
    ? `User ${u} won: position ${r.position}${checkedBy(r)}.`
    : `User ${u} won as a replacement for user ${r.replaces}: position ${r.position}${checkedBy(r)}.`),
  lost: (u, r) => `User ${u} took part but did not win${checkedBy(r)}.`,
  'not-entered': (u) => `User ${u} was not entered in this draw, the server says.`,
  unknown: (u) => `User ${u}: not verified.`,
};

function enableParticipantForm(id, draw) {
  const input = $('me-id');
  const form = $('me-form');
  input.disabled = false;
  $('me-submit').disabled = false;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    checkParticipant(id, draw, input.value);
  });
  // ?user=123 in the address checks that user at once, for shared links.
  const preset = new URLSearchParams(location.search).get('user');
  if (preset) {
    input.value = preset;
    checkParticipant(id, draw, preset);
  }
}

function showFieldError(text) {
  $('me-error').textContent = text;
  $('me-error').hidden = !text;
  $('me-id').setAttribute('aria-invalid', text ? 'true' : 'false');
}

async function checkParticipant(id, draw, text) {
  const out = $('me-result');
  const userId = parseUserId(text);
  if (typeof userId === 'string') {
    showFieldError(userId);
    out.replaceChildren();
    return;
  }
  showFieldError('');
  out.replaceChildren(el('p', { class: 'status' }, `Checking user ${userId}…`));
  out.removeAttribute('data-done');
  let proof;
  try {
    proof = (await getJSON(`/api/participants/${id}/draw/proof/${userId}`)).proof;
  } catch (e) {
    if (e.code !== 'PARTICIPANT_NOT_FOUND') {
      out.replaceChildren(el('p', { class: 'field-error', role: 'alert' }, `The proof could not be fetched: ${e.message}`));
      out.dataset.done = 'error';
      return;
    }
    proof = null;
  }
  const res = draw.version === 2 ? await verifyParticipantV2(draw, userId, proof) : await verifyParticipant(draw, userId, proof);
  const list = el('ul', { class: 'checks' });
  showChecks(list, res.checks);
  // The tickets are shown only once the user's own proof checked out.
  const t = res.tickets;
  const qualified = res.assurance === SERVICE_KEYS && (res.outcome === 'won' || res.outcome === 'lost');
  out.replaceChildren(
    el('p', { class: `headline ${res.outcome}${qualified ? ' checked' : ''}`, dataset: res.assurance ? { outcome: res.outcome, assurance: res.assurance } : { outcome: res.outcome } },
      HEADLINES[res.outcome](userId, res)),
    qualified ? el('p', { class: 'caveat' }, `${upperFirst(res.caveat)}.`) : '',
    t ? el('p', { class: 'tickets', dataset: { held: String(t.held), total: String(t.total) } },
      `User ${userId} holds ${t.held.toLocaleString('en')} of ${t.total.toLocaleString('en')} tickets ` +
      `(${ticketNumbers(t.first, t.held)}).`) : '',
    res.reasons.length ? el('p', { class: 'hint reasons' }, `Not verified because ${res.reasons.join(', and ')}.`) : '',
    list);
  out.dataset.done = 'true';
}

// ---------------------------------------------------------------------------

async function load() {
  const id = giveawayIdFromPath(location.pathname);
  if (id === null) {
    showError('Malformed giveaway id', `This address (${location.pathname}) does not name a giveaway: expected /draws/ followed by its number.`);
    return;
  }
  $('title').textContent = `Giveaway ${id}: draw verification`;
  document.title = `Giveaway ${id} · Draw verification · Telegive`;
  setState('loading', 'Loading the draw record…');
  let body;
  try {
    body = await getJSON(`/api/participants/${id}/draw`);
  } catch (e) {
    showError(...explainLoadError(e, id));
    return;
  }
  const record = body.draw;
  if (record && (record.status === 'committed' || (record.status === 'frozen' && record.version === VERSION_V2))) showCommitted(record);
  else if (record && record.status === 'drawn' && record.version === VERSION_V2) await showDrawnV2(id, record);
  else if (record && record.status === 'drawn') await showDrawn(id, record);
  else showError('Unknown draw state', `The record's status is ${JSON.stringify(record && record.status)}.`);
}

function start() {
  load().catch((e) => showError('The page failed', String(e && e.message ? e.message : e)));
}

$('retry').addEventListener('click', start);
start();
