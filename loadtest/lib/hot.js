// Helpers of the hot-giveaway scripts (scenarios/hot.js, scenarios/hot-spike.js):
// everyone joins ONE giveaway at once, each user once.
//
// The users must have passed the captcha. With USER_BASE set they are
// users USER_BASE+1 .. USER_BASE+USERS, seeded beforehand in the database
// (see README.md: one INSERT); without it setup passes USERS users through
// the captcha by the API, 50 at a time. Iteration i of the test registers
// user i (exec.scenario.iterationInTest), so each is sent once until the
// pool runs out; after that users repeat and are answered 409.

import http from 'k6/http';
import exec from 'k6/execution';
import { Counter, Rate } from 'k6/metrics';

import {
  API,
  BOT_TOKEN,
  GIVEAWAY_TOKEN,
  RUN_SPAN,
  commitDraw,
  envNumber,
  giveawayIds,
  health,
  parseBody,
  request,
  resolveRunId,
  solveCaptcha,
} from './telegive.js';

export const USERS = envNumber('USERS', 5000);
const USER_BASE = envNumber('USER_BASE', 0);

// Answers to the registrations, by status.
export const created = new Counter('hot_created'); // 201
export const duplicates = new Counter('hot_duplicate'); // 409
export const shed = new Counter('hot_shed'); // 503 with Retry-After
export const otherAnswers = new Counter('hot_other'); // anything else
// served: 201 or 409; unexpected: neither those nor a 503 with Retry-After.
export const served = new Rate('hot_served');
export const unexpected = new Rate('hot_unexpected');
// Set by teardown: the rows the giveaway holds, and whether they are each
// stored once, for users of this run only, with the count endpoint agreeing.
export const stored = new Counter('participants_stored');
export const exactlyOnce = new Rate('exactly_once');

function header(res, name) {
  const wanted = name.toLowerCase();
  for (const k of Object.keys(res.headers)) {
    if (k.toLowerCase() === wanted) {
      return res.headers[k];
    }
  }
  return undefined;
}

function botHeaders() {
  const h = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (BOT_TOKEN) {
    h['X-Service-Token'] = BOT_TOKEN;
  }
  return h;
}

// passCaptcha takes users through register and validate-captcha, 50 at a
// time, and returns the ids that passed.
function passCaptcha(giveawayId, first, count) {
  const passed = [];
  for (let start = 0; start < count; start += 50) {
    const ids = [];
    for (let i = start; i < Math.min(count, start + 50); i++) {
      ids.push(first + i);
    }
    const asked = http.batch(
      ids.map((id) => ['POST', `${API}/register`, JSON.stringify({ giveaway_id: giveawayId, user_id: id }), { headers: botHeaders(), tags: { name: 'setup_register' } }])
    );
    const answers = [];
    asked.forEach((res, i) => {
      const b = parseBody(res);
      const a = b === null ? null : solveCaptcha(b.captcha_question);
      if (res.status === 200 && a !== null) {
        answers.push([ids[i], a, b.session_id]);
      }
    });
    const solved = http.batch(
      answers.map(([id, a, session]) => [
        'POST',
        `${API}/validate-captcha`,
        JSON.stringify({ giveaway_id: giveawayId, user_id: id, answer: a, session_id: session }),
        { headers: botHeaders(), tags: { name: 'setup_validate' } },
      ])
    );
    solved.forEach((res, i) => {
      const b = parseBody(res);
      if (res.status === 200 && b !== null && b.captcha_completed === true) {
        passed.push(answers[i][0]);
      }
    });
  }
  return passed;
}

// hotSetup checks the service, commits the hot giveaway's draw and returns
// the run's giveaway and users.
export function hotSetup() {
  if (health() === null) {
    exec.test.abort('the service is not ready: check BASE_URL');
  }
  const runId = resolveRunId();
  const ids = giveawayIds(runId, 2);
  const giveawayId = ids[1]; // ids[0] is where setup's users pass the captcha
  const c = commitDraw(giveawayId);
  if (c.body === null || c.body.draw.status !== 'committed') {
    exec.test.abort(`draw commit of giveaway ${giveawayId} answered ${c.res.status}: check GIVEAWAY_TOKEN and RUN_ID`);
  }
  let users = null;
  let first = USER_BASE + 1;
  if (USER_BASE === 0) {
    commitDraw(ids[0]);
    first = runId * RUN_SPAN + 1;
    users = passCaptcha(ids[0], first, USERS);
    if (users.length === 0) {
      exec.test.abort('no user passed the captcha in setup: check BOT_TOKEN and the rate limits');
    }
  }
  console.log(`run ${runId}: hot giveaway ${giveawayId}, ${users === null ? USERS : users.length} users from ${first}`);
  return { runId, giveawayId, first, users };
}

// hotUser is the user of this iteration.
function hotUser(data) {
  const i = exec.scenario.iterationInTest;
  if (data.users !== null) {
    return data.users[i % data.users.length];
  }
  return data.first + (i % USERS);
}

// hotRegister registers this iteration's user into the hot giveaway and
// counts the answer.
export function hotRegister(data, tags) {
  const res = request(
    'POST',
    '/register',
    { giveaway_id: data.giveawayId, user_id: hotUser(data) },
    { token: BOT_TOKEN, name: 'register', expected: [201, 409], tags: tags || {} }
  );
  const isShed = res.status === 503 && header(res, 'Retry-After') !== undefined;
  if (res.status === 201) {
    created.add(1, tags);
  } else if (res.status === 409) {
    duplicates.add(1, tags);
  } else if (isShed) {
    shed.add(1, tags);
  } else {
    otherAnswers.add(1, Object.assign({ status: String(res.status) }, tags || {}));
  }
  served.add(res.status === 201 || res.status === 409, tags);
  unexpected.add(!(res.status === 201 || res.status === 409 || isShed), tags);
  return res;
}

// hotTeardown reads every row of the hot giveaway (the export) and checks
// that each user is stored once, that every one is a user of this run, and
// that the count endpoint agrees. participants_stored must then be at
// least hot_created (each 201 is a distinct user while the pool lasts):
// more are requests that timed out after their commit.
export function hotTeardown(data) {
  const res = http.get(`${API}/${data.giveawayId}/export?format=ndjson`, {
    headers: GIVEAWAY_TOKEN ? { 'X-Service-Token': GIVEAWAY_TOKEN } : {},
    tags: { name: 'export' },
    timeout: '5m',
    responseType: 'text',
  });
  if (res.status !== 200) {
    console.error(`export of giveaway ${data.giveawayId} answered ${res.status}`);
    exactlyOnce.add(false);
    return;
  }
  const last = data.users === null ? data.first + USERS : Math.max.apply(null, data.users) + 1;
  const seen = {};
  let rows = 0;
  let faults = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.trim() === '') {
      continue;
    }
    rows++;
    const p = JSON.parse(line);
    if (seen[p.user_id] || p.user_id < data.first || p.user_id >= last) {
      faults++;
    }
    seen[p.user_id] = true;
  }
  const count = request('GET', `/${data.giveawayId}/count`, null, { token: GIVEAWAY_TOKEN, name: 'count' });
  const body = parseBody(count);
  const counted = body === null ? -1 : body.count;
  stored.add(rows);
  exactlyOnce.add(faults === 0 && counted === rows);
  console.log(
    `giveaway ${data.giveawayId}: ${rows} rows, ${faults} stored twice or not of this run, count endpoint ${counted}; ` +
      'participants_stored must be at least hot_created'
  );
}

// hotThresholds are every hot script's: nothing unexpected, every row once.
export function hotThresholds() {
  return {
    hot_unexpected: ['rate==0'],
    exactly_once: ['rate==1'],
    rate_limited: ['count==0'],
  };
}
