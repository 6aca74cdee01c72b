// Shared helpers of the k6 load tests of the Telegive participant service.
//
// Everything here uses k6's built-in modules only. The scenarios in
// ../scenarios import the request helpers, the user flows (mixedIteration
// and the flows it picks from), setupRun/teardownRun and the threshold
// builders.
//
// Request names (the `name` tag on every request) are the service's own
// route names, the `route` label of participant_http_requests_total, so a
// k6 sub-metric and the service's dashboards talk about the same thing.

import http from 'k6/http';
import { check, group, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate, Trend } from 'k6/metrics';

// ------------------------------------------------------------ configuration

// env returns the environment variable, or fallback when unset or empty.
export function env(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

// envNumber returns a numeric environment variable; a value that is not a
// number stops the test at start-up with the variable's name.
export function envNumber(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) {
    throw new Error(`${name}=${raw}: want a number`);
  }
  return n;
}

export function envBool(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) {
    return fallback;
  }
  return ['1', 'true', 'yes', 'on'].indexOf(String(raw).toLowerCase()) >= 0;
}

export const BASE_URL = env('BASE_URL', 'http://localhost:8004').replace(/\/+$/, '');
export const API = `${BASE_URL}/api/participants`;
// Empty tokens are allowed for a service in AUTH_MODE=permissive (or off):
// the header is then left out.
export const BOT_TOKEN = env('BOT_TOKEN', '');
export const GIVEAWAY_TOKEN = env('GIVEAWAY_TOKEN', '');

// Share of new users who answer the captcha wrong once before the right
// answer.
export const WRONG_ANSWER_RATE = envNumber('WRONG_ANSWER_RATE', 0.05);
// Winners drawn per giveaway at the end of a run.
export const WINNERS = envNumber('WINNERS', 3);
// DRAW=false leaves the run's giveaways undrawn.
export const DRAW = envBool('DRAW', true);
// Page size of the giveaway service's listing.
export const PAGE_SIZE = 50;

// Summary statistics with p(99), for every script.
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

// ------------------------------------------------------------------ metrics

// Time the service spent on one new user's registration: the sum of the
// register and validate-captcha request durations, without think time.
export const registrationFlowDuration = new Trend('registration_flow_duration', true);
// Whether a registration flow (new or returning user) ended with a
// participant_id.
export const registrationSuccess = new Rate('registration_success');
export const participantsRegistered = new Counter('participants_registered');
export const captchaWrongAnswers = new Counter('captcha_wrong_answers');
// 429 answers: the test measures the rate limiter, not the service. Raise
// API_RATE_LIMIT (see the README) when this is not zero.
export const rateLimited = new Counter('rate_limited');
// One sample per giveaway drawn in teardown: the draw, its repetition, the
// public record, the winner's status and proof all agreed.
export const drawVerified = new Rate('draw_verified');

// ------------------------------------------------------------------ tagging

// Tags added to every request, check and custom metric sample of this VU
// (for example the spike's phase or the stress test's level).
let extraTags = {};

export function setExtraTags(tags) {
  extraTags = Object.assign({}, tags || {});
}

function tagsWith(tags) {
  return Object.assign({}, extraTags, tags || {});
}

// phaseAt returns the name of the phase that contains `seconds`, given
// phases [{name, until}] with `until` the cumulative end in seconds; the
// last phase also takes anything later.
export function phaseAt(seconds, phases) {
  for (let i = 0; i < phases.length; i++) {
    if (seconds < phases[i].until) {
      return phases[i].name;
    }
  }
  return phases[phases.length - 1].name;
}

// scenarioElapsedSeconds is the time since the running scenario started.
export function scenarioElapsedSeconds() {
  return (Date.now() - exec.scenario.startTime) / 1000;
}

// parseDuration reads a k6/Go style duration ("90s", "10m", "1h30m", or a
// plain number of seconds) into seconds.
export function parseDuration(text) {
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    return Number(s);
  }
  const units = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = '';
  let m;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0];
  }
  if (consumed !== s || s === '') {
    throw new Error(`${text}: want a duration such as 90s, 10m or 1h30m`);
  }
  return total;
}

// ------------------------------------------------------------- identifiers

// User ids never collide across VUs and runs:
//
//   user_id = run_id * RUN_SPAN + vu.idInTest * VU_SPAN + sequence
//
// run_id comes from RUN_ID or, by default, from the clock in ten-second
// ticks (chosen once, in setup, and handed to every VU). setup also checks
// that no earlier run left users or participants under that id and moves
// on to the next one if so, so a quick re-run is safe; runs started at the
// same moment are not, so give concurrent k6 processes each its own
// RUN_ID. Run ids lie in MIN_RUN_ID..MAX_RUN_ID: every user id stays below
// 2^53 (the largest integer a JavaScript number holds exactly) and above
// 10^12, clear of real Telegram user ids.
export const RUN_SPAN = 1e9; // user ids per run
export const VU_SPAN = 1e5; // user ids per VU within a run
export const MIN_RUN_ID = 1000;
export const MAX_RUN_ID = 9000000; // (MAX_RUN_ID + 1) * RUN_SPAN < 2^53
const GIVEAWAY_SPAN = 1000; // giveaways per run: run_id * 1000 + 1..999

export function resolveRunId() {
  const raw = env('RUN_ID', '');
  if (raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < MIN_RUN_ID || n > MAX_RUN_ID) {
      throw new Error(`RUN_ID=${raw}: want an integer from ${MIN_RUN_ID} to ${MAX_RUN_ID}`);
    }
    return n;
  }
  return wrapRunId(Math.floor(Date.now() / 10000));
}

// wrapRunId maps any integer into MIN_RUN_ID..MAX_RUN_ID (the clock's ticks
// wrap around every 2.8 years).
export function wrapRunId(n) {
  const span = MAX_RUN_ID - MIN_RUN_ID + 1;
  return MIN_RUN_ID + ((((n - MIN_RUN_ID) % span) + span) % span);
}

// giveawayIds returns the run's giveaways: GIVEAWAY_IDS (comma-separated,
// for a service that checks giveaways with a real giveaway service) or
// `count` ids derived from the run id.
export function giveawayIds(runId, count) {
  const explicit = env('GIVEAWAY_IDS', '');
  if (explicit !== '') {
    const ids = explicit.split(',').map((s) => Number(s.trim()));
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 1) {
        throw new Error(`GIVEAWAY_IDS=${explicit}: want positive integers separated by commas`);
      }
    }
    return ids;
  }
  if (!Number.isInteger(count) || count < 1 || count >= GIVEAWAY_SPAN) {
    throw new Error(`GIVEAWAYS=${count}: want 1..${GIVEAWAY_SPAN - 1}`);
  }
  const ids = [];
  for (let i = 1; i <= count; i++) {
    ids.push(runId * GIVEAWAY_SPAN + i);
  }
  return ids;
}

let userSequence = 0; // per VU: each VU has its own copy of this module

// nextUserId returns a user id no other VU or run uses. Every id it hands
// out is registered (setup's check for an unused run relies on that).
export function nextUserId(data) {
  const vu = exec.vu.idInTest;
  userSequence++;
  if (vu >= RUN_SPAN / VU_SPAN || userSequence >= VU_SPAN) {
    exec.test.abort(`user id space exhausted (VU ${vu}, ${userSequence} users): fewer VUs or a shorter run`);
  }
  return data.runId * RUN_SPAN + vu * VU_SPAN + userSequence;
}

// unknownUserId returns an id of this run that is never registered: the
// range of "VU 0", which k6 never starts.
export function unknownUserId(data) {
  return data.runId * RUN_SPAN + randomInt(1, VU_SPAN - 1);
}

// ------------------------------------------------------------- known users

// Users of this VU who passed the captcha, with the giveaways they joined:
// {userId, first, joined: [{giveawayId, participantId}]}. A returning user
// joins data.giveaways[(first + joined.length) % n] next, so never the same
// giveaway twice. k6 VUs share no memory, so every VU keeps its own list.
const known = [];
const KNOWN_CAP = 500;

function remember(user) {
  if (known.length >= KNOWN_CAP) {
    known.splice(Math.floor(Math.random() * known.length), 1);
  }
  known.push(user);
}

function pickKnown(predicate) {
  const candidates = known.filter(predicate || (() => true));
  return candidates.length === 0 ? null : candidates[Math.floor(Math.random() * candidates.length)];
}

// ------------------------------------------------------------------ helpers

export function randomInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

export function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// think sleeps a random time in [range[0], range[1]] seconds: a user
// reading the captcha, or the pause between two bot events.
export function think(range) {
  if (!range || range[1] <= 0) {
    return;
  }
  sleep(range[0] + Math.random() * (range[1] - range[0]));
}

// solveCaptcha answers "What is 7 + 5?", "What is 9 - 4?" or
// "What is 3 × 6?"; null when the question has another form.
export function solveCaptcha(question) {
  const m = /(-?\d+)\s*([+\-\u2212\u00d7xX*])\s*(-?\d+)/.exec(String(question || ''));
  if (m === null) {
    return null;
  }
  const a = Number(m[1]);
  const b = Number(m[3]);
  switch (m[2]) {
    case '+':
      return a + b;
    case '-':
    case '\u2212':
      return a - b;
    default:
      return a * b;
  }
}

function profileFor(userId) {
  // Telegram usernames are optional; about a third of the users have none.
  const profile = { first_name: `Load ${userId % 10000}` };
  if (userId % 3 !== 0) {
    profile.username = `lt_${userId}`; // ^[A-Za-z0-9_]{5,32}$
  }
  if (userId % 2 === 0) {
    profile.last_name = 'Tester';
  }
  return profile;
}

function isId(v) {
  return Number.isInteger(v) && v >= 1;
}

function isCount(v) {
  return Number.isInteger(v) && v >= 0;
}

function isHash(v) {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

// ----------------------------------------------------------------- requests

function headers(token, hasBody) {
  const h = { Accept: 'application/json' };
  if (hasBody) {
    h['Content-Type'] = 'application/json';
  }
  if (token) {
    h['X-Service-Token'] = token;
  }
  return h;
}

// request sends one API call tagged `name`. `expected` lists the statuses
// that are not failures for http_req_failed (default: 2xx and 3xx).
export function request(method, path, payload, opts) {
  const o = opts || {};
  const params = {
    headers: headers(o.token, payload !== null && payload !== undefined),
    tags: tagsWith(Object.assign({ name: o.name }, o.tags || {})),
  };
  if (o.expected) {
    params.responseCallback = http.expectedStatuses(...o.expected);
  }
  const body = payload === null || payload === undefined ? null : JSON.stringify(payload);
  const url = path.indexOf('http') === 0 ? path : `${API}${path}`;
  const res = http.request(method, url, body, params);
  if (res.status === 429) {
    rateLimited.add(1, tagsWith({ name: o.name }));
  }
  return res;
}

// parseBody returns the JSON object of a response, or null.
export function parseBody(res) {
  try {
    const v = res.json();
    return v !== null && typeof v === 'object' ? v : null;
  } catch (e) {
    return null;
  }
}

let failuresLogged = 0;
const MAX_FAILURE_LOGS = envNumber('MAX_FAILURE_LOGS', 10); // per VU

function logFailure(label, res, body) {
  if (failuresLogged >= MAX_FAILURE_LOGS) {
    return;
  }
  failuresLogged++;
  const code = body && body.error_code ? ` ${body.error_code}` : '';
  let hint = '';
  if (res.status === 429) {
    hint = ' (rate limited: raise API_RATE_LIMIT / USER_RATE_LIMIT for load tests)';
  } else if (res.status === 401 || res.status === 403) {
    hint = ' (check BOT_TOKEN / GIVEAWAY_TOKEN and the service AUTH_MODE)';
  } else if (res.status === 0) {
    hint = ` (no answer: ${res.error}; is BASE_URL=${BASE_URL} reachable?)`;
  }
  const text = typeof res.body === 'string' ? res.body.slice(0, 300).trim() : '';
  const req = res.request ? `${res.request.method} ${res.request.url}` : label;
  console.warn(`${label}: ${req} -> ${res.status}${code}${hint} ${text}`);
}

// verify checks a response's status, `success` and the fields the callers
// rely on. `fields` maps a description to a predicate on the parsed body.
// It returns the body when every check passed, else null (and logs the
// first few failures of the VU). A wrong status is one failed check, not
// one per field.
export function verify(res, label, status, fields) {
  const body = parseBody(res);
  const sets = {};
  sets[`${label}: status ${status}`] = () => res.status === status;
  if (res.status !== status) {
    check(res, sets, tagsWith({ name: label }));
    logFailure(label, res, body);
    return null;
  }
  const expectSuccess = status < 400;
  sets[`${label}: success is ${expectSuccess}`] = () => body !== null && body.success === expectSuccess;
  for (const description of Object.keys(fields || {})) {
    const predicate = fields[description];
    sets[`${label}: ${description}`] = () => {
      try {
        return body !== null && predicate(body) === true;
      } catch (e) {
        return false;
      }
    };
  }
  const ok = check(res, sets, tagsWith({ name: label }));
  if (!ok) {
    logFailure(label, res, body);
    return null;
  }
  return body;
}

// -------------------------------------------------------------- API calls

export function health() {
  const res = request('GET', `${BASE_URL}/health/ready`, null, { name: 'health_ready' });
  return verify(res, 'health_ready', 200, { 'status ready': (b) => b.status === 'ready' });
}

// registerNew registers a user who never passed the captcha: 200 with a
// challenge.
export function registerNew(giveawayId, userId, profile) {
  const res = request('POST', '/register', Object.assign({ giveaway_id: giveawayId, user_id: userId }, profile), {
    token: BOT_TOKEN,
    name: 'register',
    tags: { flow: 'new' },
  });
  const body = verify(res, 'register', 200, {
    'requires_captcha': (b) => b.requires_captcha === true,
    'solvable captcha_question': (b) => solveCaptcha(b.captcha_question) !== null,
    'session_id': (b) => typeof b.session_id === 'string' && b.session_id.length > 0,
    'attempts_remaining >= 1': (b) => Number.isInteger(b.attempts_remaining) && b.attempts_remaining >= 1,
  });
  return { res, body };
}

// registerReturning registers a user who passed the captcha in another
// giveaway: 201 with participant_id.
export function registerReturning(giveawayId, userId, profile) {
  const res = request('POST', '/register', Object.assign({ giveaway_id: giveawayId, user_id: userId }, profile), {
    token: BOT_TOKEN,
    name: 'register',
    tags: { flow: 'returning' },
  });
  const body = verify(res, 'register returning', 201, {
    'requires_captcha false': (b) => b.requires_captcha === false,
    'participation_confirmed': (b) => b.participation_confirmed === true,
    'participant_id': (b) => isId(b.participant_id),
  });
  return { res, body };
}

// validateCaptcha sends an answer. The bot forwards the user's message, so
// the answer goes as a string half of the time (the API takes both).
function sendAnswer(giveawayId, userId, answer, sessionId) {
  const payload = {
    giveaway_id: giveawayId,
    user_id: userId,
    answer: Math.random() < 0.5 ? answer : ` ${answer}`,
  };
  if (sessionId) {
    payload.session_id = sessionId;
  }
  return request('POST', '/validate-captcha', payload, { token: BOT_TOKEN, name: 'validate_captcha' });
}

export function validateRight(giveawayId, userId, answer, sessionId) {
  const res = sendAnswer(giveawayId, userId, answer, sessionId);
  const body = verify(res, 'validate_captcha', 200, {
    'captcha_completed': (b) => b.captcha_completed === true,
    'participation_confirmed': (b) => b.participation_confirmed === true,
    'participant_id': (b) => isId(b.participant_id),
  });
  return { res, body };
}

export function validateWrong(giveawayId, userId, answer, sessionId) {
  const res = sendAnswer(giveawayId, userId, answer, sessionId);
  const body = verify(res, 'validate_captcha wrong', 200, {
    'captcha_completed false': (b) => b.captcha_completed === false,
    'attempts_remaining': (b) => isCount(b.attempts_remaining),
  });
  return { res, body };
}

// captchaStatus polls a user's captcha state; `expected` holds the values
// to check (captcha_completed, minParticipations).
export function captchaStatus(userId, expected) {
  const e = expected || {};
  const res = request('GET', `/captcha-status/${userId}`, null, { token: BOT_TOKEN, name: 'captcha_status' });
  const fields = {
    'user_id': (b) => b.user_id === userId,
    'totals': (b) => isCount(b.total_participations) && isCount(b.total_wins),
  };
  if (e.captchaCompleted !== undefined) {
    fields[`captcha_completed ${e.captchaCompleted}`] = (b) => b.captcha_completed === e.captchaCompleted;
  }
  if (e.minParticipations !== undefined) {
    fields['total_participations'] = (b) => b.total_participations >= e.minParticipations;
  }
  return verify(res, 'captcha_status', 200, fields);
}

export function winnerStatus(userId, giveawayId, expected) {
  const e = expected || {};
  const res = request('GET', `/winner-status/${userId}/${giveawayId}`, null, {
    token: BOT_TOKEN,
    name: 'winner_status',
  });
  const fields = {
    'ids': (b) => b.user_id === userId && b.giveaway_id === giveawayId,
    'fields': (b) => typeof b.participated === 'boolean' && typeof b.is_winner === 'boolean' && isCount(b.total_winners),
  };
  if (e.participantId !== undefined) {
    fields['participated'] = (b) => b.participated === true && b.participant_id === e.participantId;
  }
  if (e.isWinner !== undefined) {
    fields[`is_winner ${e.isWinner}`] = (b) => b.is_winner === e.isWinner;
  }
  if (e.drawn) {
    fields['winner_selected_at'] = (b) => typeof b.winner_selected_at === 'string';
  }
  return verify(res, 'winner_status', 200, fields);
}

export function listParticipants(giveawayId, page, limit) {
  const res = request('GET', `/${giveawayId}?page=${page}&limit=${limit}`, null, {
    token: GIVEAWAY_TOKEN,
    name: 'list',
  });
  return verify(res, 'list', 200, {
    'giveaway_id': (b) => b.giveaway_id === giveawayId,
    'participants page': (b) =>
      Array.isArray(b.participants) &&
      b.participants.length <= limit &&
      b.participants.every((p) => p.giveaway_id === giveawayId && isId(p.user_id) && isId(p.participant_id)),
    'pagination': (b) => b.pagination.page === page && b.pagination.limit === limit && isCount(b.pagination.total),
    'stats': (b) => isCount(b.stats.total) && isCount(b.stats.winners),
  });
}

export function countParticipants(giveawayId) {
  const res = request('GET', `/${giveawayId}/count`, null, { token: GIVEAWAY_TOKEN, name: 'count' });
  return verify(res, 'count', 200, {
    'giveaway_id': (b) => b.giveaway_id === giveawayId,
    'count': (b) => isCount(b.count) && isCount(b.total_participants),
  });
}

export function commitDraw(giveawayId) {
  const res = request('POST', `/${giveawayId}/draw/commit`, null, { token: GIVEAWAY_TOKEN, name: 'draw_commit' });
  const body = verify(res, 'draw_commit', 200, {
    'draw record': (b) => b.draw.giveaway_id === giveawayId && isHash(b.draw.commitment),
  });
  return { res, body };
}

export function selectWinners(giveawayId, winnerCount) {
  const res = request('POST', `/${giveawayId}/select-winners`, { winner_count: winnerCount }, {
    token: GIVEAWAY_TOKEN,
    name: 'select_winners',
  });
  return verify(res, 'select_winners', 200, {
    'giveaway_id': (b) => b.giveaway_id === giveawayId,
    'selection_method': (b) => b.selection_method === 'telegive-draw-v1',
    'winners': (b) =>
      Array.isArray(b.winners) &&
      b.winners.length === b.winner_count_selected &&
      b.winners.length === Math.min(winnerCount, b.total_participants),
    'draw drawn': (b) => b.draw.status === 'drawn' && b.draw.entrants_count === b.total_participants,
  });
}

// drawRecord fetches the public draw record (no token).
export function drawRecord(giveawayId) {
  const res = request('GET', `/${giveawayId}/draw`, null, { name: 'draw' });
  return verify(res, 'draw', 200, {
    'giveaway_id': (b) => b.draw.giveaway_id === giveawayId,
    'commitment': (b) => isHash(b.draw.commitment),
  });
}

export function drawProof(giveawayId, userId) {
  const res = request('GET', `/${giveawayId}/draw/proof/${userId}`, null, { name: 'draw_proof' });
  return verify(res, 'draw_proof', 200, {
    'proof': (b) => b.proof.user_id === userId && isHash(b.proof.entrants_root) && Array.isArray(b.proof.audit_path),
  });
}

// ------------------------------------------------------------------- flows

// newUserFlow: a first-timer joins a giveaway through the bot: register
// (200, captcha), reads and answers the question (sometimes wrong once),
// validate-captcha (200, participant_id).
export function newUserFlow(data, opts) {
  return group('new user', () => {
    const userId = nextUserId(data);
    const first = randomInt(0, data.giveaways.length - 1);
    const giveawayId = data.giveaways[first];
    const profile = profileFor(userId);

    const reg = registerNew(giveawayId, userId, profile);
    if (reg.body === null) {
      registrationSuccess.add(false, tagsWith({ flow: 'new' }));
      return false;
    }
    let spent = reg.res.timings.duration;
    let question = reg.body.captcha_question;
    let session = reg.body.session_id;
    think(opts.think);

    if (Math.random() < opts.wrongAnswerRate) {
      const wrong = validateWrong(giveawayId, userId, solveCaptcha(question) + 1, session);
      spent += wrong.res.timings.duration;
      captchaWrongAnswers.add(1, tagsWith());
      if (wrong.body === null) {
        registrationSuccess.add(false, tagsWith({ flow: 'new' }));
        return false;
      }
      if (wrong.body.new_question) {
        // That was the challenge's last attempt: a fresh one came back.
        question = wrong.body.new_question;
        session = wrong.body.session_id;
      }
      think(opts.think);
    }

    const right = validateRight(giveawayId, userId, solveCaptcha(question), session);
    spent += right.res.timings.duration;
    const ok = right.body !== null;
    registrationSuccess.add(ok, tagsWith({ flow: 'new' }));
    if (ok) {
      registrationFlowDuration.add(spent, tagsWith());
      participantsRegistered.add(1, tagsWith());
      remember({ userId, first, profile, joined: [{ giveawayId, participantId: right.body.participant_id }] });
    }
    return ok;
  });
}

// returningUserFlow: a user who passed the captcha joins another giveaway
// (201 at once). Falls back to a new user when this VU knows none yet.
export function returningUserFlow(data, opts) {
  const n = data.giveaways.length;
  const user = pickKnown((u) => u.joined.length < n);
  if (user === null) {
    return newUserFlow(data, opts);
  }
  return group('returning user', () => {
    const giveawayId = data.giveaways[(user.first + user.joined.length) % n];
    const reg = registerReturning(giveawayId, user.userId, user.profile);
    const ok = reg.body !== null;
    registrationSuccess.add(ok, tagsWith({ flow: 'returning' }));
    if (ok) {
      participantsRegistered.add(1, tagsWith());
      user.joined.push({ giveawayId, participantId: reg.body.participant_id });
    }
    return ok;
  });
}

// statusPollFlow: the bot's status reads for a user this VU registered
// (captcha-status, winner-status), or captcha-status of a user never seen.
export function statusPollFlow(data) {
  return group('status polls', () => {
    const user = pickKnown();
    if (user === null) {
      captchaStatus(unknownUserId(data), { captchaCompleted: false, minParticipations: 0 });
      return;
    }
    captchaStatus(user.userId, { captchaCompleted: true, minParticipations: user.joined.length });
    const p = pick(user.joined);
    winnerStatus(user.userId, p.giveawayId, { participantId: p.participantId });
  });
}

// giveawayReadsFlow: the giveaway service's count and a page of the
// listing (page 1 mostly, sometimes a later page).
export function giveawayReadsFlow(data) {
  return group('giveaway service', () => {
    const giveawayId = pick(data.giveaways);
    const count = countParticipants(giveawayId);
    let page = 1;
    if (count !== null && Math.random() < 0.3) {
      page = randomInt(1, Math.max(1, Math.ceil(count.count / PAGE_SIZE)));
    }
    listParticipants(giveawayId, page, PAGE_SIZE);
  });
}

// The traffic mix, in percent of iterations: mostly first-timers, then
// returning users, the bot's status polls and the giveaway service's reads.
export const DEFAULT_MIX = { newUser: 60, returningUser: 15, statusPoll: 15, giveawayReads: 10 };

export function defaultFlowOptions(thinkDefault) {
  return {
    mix: DEFAULT_MIX,
    think: [envNumber('THINK_MIN', thinkDefault[0]), envNumber('THINK_MAX', thinkDefault[1])],
    wrongAnswerRate: WRONG_ANSWER_RATE,
  };
}

// mixedIteration runs one flow picked by weight from opts.mix.
export function mixedIteration(data, opts) {
  const mix = opts.mix || DEFAULT_MIX;
  const total = mix.newUser + mix.returningUser + mix.statusPoll + mix.giveawayReads;
  let r = Math.random() * total;
  if ((r -= mix.newUser) < 0) {
    return newUserFlow(data, opts);
  }
  if ((r -= mix.returningUser) < 0) {
    return returningUserFlow(data, opts);
  }
  if ((r -= mix.statusPoll) < 0) {
    return statusPollFlow(data);
  }
  return giveawayReadsFlow(data);
}

// -------------------------------------------------------- setup, teardown

// setupRun checks that the service answers and the tokens are accepted,
// chooses the run id and the giveaways, and publishes each giveaway's draw
// commitment (as the giveaway service does before registration opens). The
// returned object is the `data` every VU and teardown receive.
export function setupRun(giveawayCount) {
  if (health() === null) {
    exec.test.abort(`${BASE_URL}/health/ready is not 200 ready: is the service up and BASE_URL right?`);
  }
  // The bot token first (a read of user 1, which load tests never use).
  const probe = request('GET', '/captcha-status/1', null, { token: BOT_TOKEN, name: 'captcha_status' });
  if (probe.status !== 200) {
    exec.test.abort(`captcha-status with BOT_TOKEN answered ${probe.status}: check BOT_TOKEN and AUTH_MODE`);
  }
  warnAboutRateLimit(probe, 'bot');

  const explicitRun = env('RUN_ID', '') !== '';
  const explicitGiveaways = env('GIVEAWAY_IDS', '') !== '';
  let runId = resolveRunId();
  let giveaways = giveawayIds(runId, giveawayCount);
  // A run started within ten seconds of the last one gets the same id from
  // the clock: move on to the next unused one.
  for (let attempt = 1; !runIsUnused(runId, giveaways, explicitGiveaways); attempt++) {
    if (explicitRun || attempt > 50) {
      exec.test.abort(`run id ${runId} was used by an earlier run: set another RUN_ID`);
    }
    runId = wrapRunId(runId + 1);
    giveaways = giveawayIds(runId, giveawayCount);
  }

  const commitments = {};
  for (const id of giveaways) {
    const c = commitDraw(id);
    if (c.body === null) {
      exec.test.abort(
        `draw commit of giveaway ${id} answered ${c.res.status}: check GIVEAWAY_TOKEN, and GIVEAWAY_IDS when the ` +
          'service checks giveaways with a giveaway service'
      );
    }
    if (c.body.draw.status === 'drawn') {
      exec.test.abort(`giveaway ${id} is already drawn: registrations would be refused; use other GIVEAWAY_IDS`);
    }
    commitments[id] = c.body.draw.commitment;
    if (id === giveaways[0]) {
      warnAboutRateLimit(c.res, 'giveaway');
    }
  }
  console.log(`run ${runId}: base ${BASE_URL}, giveaways ${giveaways.join(',')}, user ids from ${runId * RUN_SPAN}`);
  return { runId, giveaways, commitments, explicitGiveaways };
}

// runIsUnused tells whether an earlier run left traces under runId: its
// first VU's first user, or (for generated giveaways) participants in or a
// draw of its first giveaway.
function runIsUnused(runId, giveaways, explicitGiveaways) {
  const user = captchaStatus(runId * RUN_SPAN + VU_SPAN + 1, {});
  if (user === null) {
    exec.test.abort('captcha-status failed in setup: see the log above');
  }
  if (user.captcha_completed || user.total_participations > 0) {
    return false;
  }
  if (explicitGiveaways) {
    return true;
  }
  const count = countParticipants(giveaways[0]);
  if (count === null) {
    exec.test.abort('count failed in setup: check GIVEAWAY_TOKEN (see the log above)');
  }
  const draw = request('GET', `/${giveaways[0]}/draw`, null, { name: 'draw', expected: [200, 404] });
  const record = parseBody(draw);
  const drawn = draw.status === 200 && record !== null && record.draw.status === 'drawn';
  return count.count === 0 && !drawn;
}

function headerValue(res, name) {
  const wanted = name.toLowerCase();
  for (const k of Object.keys(res.headers)) {
    if (k.toLowerCase() === wanted) {
      return res.headers[k];
    }
  }
  return undefined;
}

function warnAboutRateLimit(res, caller) {
  const limit = Number(headerValue(res, 'X-RateLimit-Limit'));
  if (Number.isFinite(limit) && limit > 0 && limit < 100000) {
    console.warn(
      `the ${caller} caller's budget is ${limit} requests per period (API_RATE_LIMIT): a load test needs it ` +
        'raised, e.g. API_RATE_LIMIT="1000000 per minute", or it measures 429s'
    );
  }
}

// teardownRun draws every giveaway of the run once and verifies the draw:
// a repeated select-winners returns the same draw with already_selected,
// the public record is fetchable and agrees (commitment from setup,
// entrants, winners), the first winner's winner-status says so, and its
// inclusion proof is served.
export function teardownRun(data) {
  if (!DRAW) {
    console.log(`DRAW=false: giveaways ${data.giveaways.join(',')} are left undrawn`);
    return;
  }
  let verified = 0;
  for (const giveawayId of data.giveaways) {
    const ok = group('draw', () => drawAndVerify(data, giveawayId));
    drawVerified.add(ok);
    if (ok) {
      verified++;
    }
  }
  console.log(`run ${data.runId}: ${verified} of ${data.giveaways.length} draws verified`);
}

function winnerIds(winners) {
  return winners
    .slice()
    .sort((a, b) => a.position - b.position)
    .map((w) => w.user_id)
    .join(',');
}

function drawAndVerify(data, giveawayId) {
  const count = countParticipants(giveawayId);
  const first = selectWinners(giveawayId, WINNERS);
  if (count === null || first === null) {
    return false;
  }
  const sel = first;
  let ok = check(sel, {
    'select_winners: first call draws': (b) => data.explicitGiveaways || b.already_selected === false,
    'select_winners: entrants <= participants': (b) => b.total_participants <= count.count,
  });

  const again = selectWinners(giveawayId, WINNERS);
  ok =
    check(again, {
      'select_winners repeated: already_selected': (b) => b !== null && b.already_selected === true,
      'select_winners repeated: same winners': (b) => b !== null && winnerIds(b.winners) === winnerIds(sel.winners),
      'select_winners repeated: same draw seed': (b) => b !== null && b.draw.draw_seed === sel.draw.draw_seed,
    }) && ok;

  const record = drawRecord(giveawayId);
  ok =
    check(record, {
      'draw: status drawn': (b) => b !== null && b.draw.status === 'drawn',
      'draw: commitment published in setup': (b) =>
        b !== null && (data.commitments[giveawayId] === undefined || b.draw.commitment === data.commitments[giveawayId]),
      'draw: entrants_count': (b) => b !== null && b.draw.entrants_count === sel.total_participants,
      'draw: seeds': (b) => b !== null && isHash(b.draw.server_seed) && isHash(b.draw.draw_seed) && isHash(b.draw.entrants_root),
      'draw: same winners': (b) => b !== null && winnerIds(b.draw.winners) === winnerIds(sel.winners),
    }) && ok;

  if (sel.winners.length > 0) {
    const winner = sel.winners.slice().sort((a, b) => a.position - b.position)[0];
    const status = winnerStatus(winner.user_id, giveawayId, {
      participantId: winner.participant_id,
      isWinner: true,
      drawn: true,
    });
    const proof = drawProof(giveawayId, winner.user_id);
    ok =
      check(proof, {
        'draw_proof: winner at position 1': (b) => b !== null && b.proof.is_winner === true && b.proof.position === 1,
        'draw_proof: entrants root': (b) => b !== null && record !== null && b.proof.entrants_root === record.draw.entrants_root,
      }) &&
      status !== null &&
      ok;
  }
  return ok && record !== null && again !== null;
}

// ------------------------------------------------------------- thresholds

// The request names of the traffic mix (the draw's are in drawThresholds).
export const FLOW_REQUESTS = ['register', 'validate_captcha', 'captcha_status', 'winner_status', 'list', 'count'];

// perRequest returns p95/p99 latency thresholds (milliseconds) for each of
// `names`, as sub-metrics of http_req_duration on the `name` tag.
export function perRequest(p95, p99, names) {
  const t = {};
  for (const name of names || FLOW_REQUESTS) {
    t[`http_req_duration{name:${name}}`] = [`p(95)<${p95}`, `p(99)<${p99}`];
  }
  return t;
}

// drawThresholds: the draw happens once per giveaway, over every entrant,
// so select_winners has a looser budget than the interactive calls.
export function drawThresholds() {
  const t = perRequest(1000, 2000, ['draw_commit', 'draw', 'draw_proof']);
  t['http_req_duration{name:select_winners}'] = ['p(95)<5000', 'max<30000'];
  if (DRAW) {
    t.draw_verified = ['rate==1'];
  }
  return t;
}

// Object.assign over several threshold maps, for readability in scripts.
export function thresholds() {
  return Object.assign.apply(null, [{}].concat(Array.prototype.slice.call(arguments)));
}
