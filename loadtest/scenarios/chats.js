// Three required chats: registrations into giveaways whose rules require
// CHATS (3) chats against registrations into giveaways that require one,
// with a warm membership cache (issue 14: the first at no less than 90 % of
// the second's rate). Users have passed the captcha; each registration
// is a user's first into that giveaway.
//
// The service must ask a stand-in Bot API, which says "member" for every
// user in every chat: run `go run ./cmd/loadgen -standin 127.0.0.1:8081`
// and start the service with TELEGIVE_AUTH_URL, TELEGIVE_CHANNEL_URL and
// TELEGRAM_API_BASE set to http://127.0.0.1:8081 (`-scenario chats` of the
// Go harness does all of this by itself).
//
// setup sets the rules of GIVEAWAYS (200) giveaways, half with one chat and
// half with CHATS, puts USERS (2000) users through the captcha and asks
// each user's eligibility once on each side, which caches their
// memberships. Then VUS (50) virtual users register flat out in four
// phases of PHASE (15s): one chat, CHATS chats, CHATS chats, one chat
// (ABBA, so that a drift over the run weighs on both sides alike), and the
// summary prints both rates and their ratio.
//
//   k6 run -e BASE_URL=... -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... loadtest/scenarios/chats.js

import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  API,
  BOT_TOKEN,
  GIVEAWAY_TOKEN,
  RUN_SPAN,
  SUMMARY_TREND_STATS,
  env,
  envNumber,
  parseDuration,
  resolveRunId,
  solveCaptcha,
  thresholds,
} from '../lib/telegive.js';

const CHATS = envNumber('CHATS', 3);
const USERS = envNumber('USERS', 2000);
const GIVEAWAYS = envNumber('GIVEAWAYS', 200);
const VUS = envNumber('VUS', 50);
const PHASE = env('PHASE', '15s');
const MIN_RATIO = envNumber('MIN_RATIO', 0.9);
const phaseSeconds = parseDuration(PHASE);

if (!Number.isInteger(CHATS) || CHATS < 2 || CHATS > 10) {
  throw new Error(`CHATS=${CHATS}: compare one chat with 2 to 10`);
}
if (!Number.isInteger(GIVEAWAYS) || GIVEAWAYS < 2 || GIVEAWAYS > 998) {
  throw new Error(`GIVEAWAYS=${GIVEAWAYS}: want 2..998`);
}

const registered = new Counter('chats_registered'); // 201, tagged side
const refused = new Counter('chats_other'); // anything else, tagged side

function phase(side, index) {
  return {
    executor: 'constant-vus',
    vus: VUS,
    duration: PHASE,
    startTime: `${index * (phaseSeconds + 2)}s`,
    gracefulStop: '2s',
    exec: side === 'one' ? 'registerOne' : 'registerMany',
    tags: { side },
  };
}

export const options = {
  scenarios: {
    one_a: phase('one', 0),
    many_a: phase('many', 1),
    many_b: phase('many', 2),
    one_b: phase('one', 3),
  },
  setupTimeout: '10m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'chats' },
  thresholds: thresholds({
    'chats_registered{side:one}': ['count>0'],
    'chats_registered{side:many}': ['count>0'],
    chats_other: ['count==0'],
    'http_req_duration{side:one}': ['p(99)<5000'],
    'http_req_duration{side:many}': ['p(99)<5000'],
  }),
};

function call(method, path, payload, token, name) {
  const params = { headers: { Accept: 'application/json', 'X-Service-Token': token }, tags: { name } };
  if (payload !== null) {
    params.headers['Content-Type'] = 'application/json';
  }
  return http.request(method, `${API}${path}`, payload === null ? null : JSON.stringify(payload), params);
}

function must(res, status, what) {
  if (res.status !== status) {
    exec.test.abort(`${what}: ${res.status} ${String(res.body).slice(0, 300)}`);
  }
  return res.json();
}

export function setup() {
  const runId = resolveRunId();
  const base = runId * 1000;
  const userBase = runId * RUN_SPAN + 900000000; // clear of the VU ranges of lib/telegive.js
  const half = Math.floor(GIVEAWAYS / 2);
  const one = [];
  const many = [];
  for (let i = 1; i <= 2 * half; i++) {
    (i <= half ? one : many).push(base + i);
  }
  const chatsOne = [String(-1002000000000 - (runId % 1000000))];
  const chatsMany = [];
  for (let i = 0; i < CHATS; i++) {
    chatsMany.push(String(-1003000000000 - (runId % 1000000) * 10 - i));
  }
  // The rules first: the first registration commits the draw and locks them.
  for (const g of one) {
    must(call('PUT', `/${g}/rules`, { required_chats: chatsOne }, GIVEAWAY_TOKEN, 'put_rules'), 200, `rules of ${g}`);
  }
  for (const g of many) {
    must(call('PUT', `/${g}/rules`, { required_chats: chatsMany }, GIVEAWAY_TOKEN, 'put_rules'), 200, `rules of ${g}`);
  }
  // The captcha, once per user, through a giveaway without rules.
  const users = [];
  for (let u = 1; u <= USERS; u++) {
    const user = userBase + u;
    const body = must(call('POST', '/register', { giveaway_id: base + 999, user_id: user }, BOT_TOKEN, 'register'), 200, `register ${user}`);
    if (body.requires_captcha) {
      const answer = solveCaptcha(body.captcha_question);
      must(call('POST', '/validate-captcha', { giveaway_id: base + 999, user_id: user, answer }, BOT_TOKEN, 'validate_captcha'), 200, `captcha of ${user}`);
    }
    users.push(user);
  }
  // Warm the cache: each user's eligibility once on each side.
  for (const g of [one[0], many[0]]) {
    for (const user of users) {
      const b = must(call('GET', `/${g}/eligibility/${user}`, null, BOT_TOKEN, 'eligibility'), 200, `eligibility of ${user} in ${g}`);
      if (b.eligible !== true) {
        exec.test.abort(`user ${user} is not eligible in giveaway ${g}: is the service asking the stand-in Bot API? ${JSON.stringify(b)}`);
      }
    }
  }
  return { one, many, users };
}

// The two phases of a side share its (giveaway, user) pairs, the first
// taking the even ones and the second the odd ones, giveaway first, so
// that no pair is sent twice and consecutive registrations go to
// different giveaways.
function register(data, side) {
  const giveaways = side === 'one' ? data.one : data.many;
  const second = exec.scenario.name.endsWith('_b') ? 1 : 0;
  const k = 2 * exec.scenario.iterationInTest + second;
  if (k >= giveaways.length * data.users.length) {
    exec.test.abort(`the ${side} side ran out of (giveaway, user) pairs: raise USERS or GIVEAWAYS`);
  }
  const g = giveaways[k % giveaways.length];
  const user = data.users[Math.floor(k / giveaways.length)];
  const res = call('POST', '/register', { giveaway_id: g, user_id: user }, BOT_TOKEN, 'register');
  if (res.status === 201) {
    registered.add(1, { side });
  } else {
    refused.add(1, { side, status: String(res.status) });
  }
}

export function registerOne(data) {
  register(data, 'one');
}

export function registerMany(data) {
  register(data, 'many');
}

export function handleSummary(data) {
  const count = (side) => {
    const m = data.metrics[`chats_registered{side:${side}}`];
    return m ? m.values.count : 0;
  };
  const seconds = 2 * phaseSeconds;
  const rateOne = count('one') / seconds;
  const rateMany = count('many') / seconds;
  const ratio = rateOne > 0 ? rateMany / rateOne : 0;
  const verdict = ratio >= MIN_RATIO ? 'met' : 'NOT met';
  const text =
    `registrations with 1 required chat: ${rateOne.toFixed(0)}/s\n` +
    `registrations with ${CHATS} required chats: ${rateMany.toFixed(0)}/s\n` +
    `ratio: ${ratio.toFixed(3)} (target ${MIN_RATIO}: ${verdict})\n`;
  return { stdout: text, 'chats-summary.json': JSON.stringify({ rateOne, rateMany, ratio, chats: CHATS }, null, 2) };
}
