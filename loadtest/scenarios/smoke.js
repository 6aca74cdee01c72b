// Smoke test: is the service up, are the tokens right, does every step of
// the flow answer what the bot and the giveaway service expect? Two VUs for
// about a minute:
//
//   walkthrough  one VU, one pass over every endpoint of the flow, with
//                strict checks (captcha-status, register, the same challenge
//                again, a wrong answer, the right answer, the right answer
//                again, a duplicate registration, register in a second
//                giveaway, winner-status, count, list, the committed draw);
//   mix          one VU running the load tests' traffic mix for DURATION.
//
// teardown draws both giveaways and verifies the draws. Any failed check,
// any failed request or a slow answer fails the run.
//
//   k6 run -e BASE_URL=http://localhost:8004 -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... loadtest/scenarios/smoke.js

import { check, group } from 'k6';
import exec from 'k6/execution';
import {
  BOT_TOKEN,
  SUMMARY_TREND_STATS,
  captchaStatus,
  countParticipants,
  defaultFlowOptions,
  drawRecord,
  drawThresholds,
  env,
  envNumber,
  listParticipants,
  mixedIteration,
  nextUserId,
  perRequest,
  registerNew,
  registerReturning,
  registrationSuccess,
  request,
  setupRun,
  solveCaptcha,
  teardownRun,
  think,
  thresholds,
  validateRight,
  validateWrong,
  verify,
  winnerStatus,
} from '../lib/telegive.js';

const FLOW = defaultFlowOptions([0.5, 1.5]);
const PACE = [envNumber('PACE_MIN', 1), envNumber('PACE_MAX', 2)];

export const options = {
  scenarios: {
    walkthrough: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: '1m', exec: 'walkthrough' },
    mix: { executor: 'constant-vus', vus: 1, duration: env('DURATION', '1m'), exec: 'mix' },
  },
  setupTimeout: '1m',
  teardownTimeout: '2m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'smoke' },
  thresholds: thresholds(
    {
      checks: ['rate==1'],
      http_req_failed: ['rate==0'],
      http_req_duration: ['p(95)<500', 'p(99)<1000'],
      registration_success: ['rate==1'],
      rate_limited: ['count==0'],
      'checks{scenario:walkthrough}': ['rate==1'],
    },
    perRequest(500, 1000),
    drawThresholds()
  ),
};

export function setup() {
  const data = setupRun(2);
  if (data.giveaways.length < 2) {
    exec.test.abort('the smoke test needs two giveaways (GIVEAWAY_IDS)');
  }
  return data;
}

export function walkthrough(data) {
  const [g1, g2] = data.giveaways;
  const userId = nextUserId(data);
  const profile = { username: `lt_${userId}`, first_name: 'Smoke' };

  group('unknown user', () => {
    const s = captchaStatus(userId, { captchaCompleted: false, minParticipations: 0 });
    check(s, {
      'captcha_status unknown: zero totals and nulls': (b) =>
        b !== null && b.total_participations === 0 && b.total_wins === 0 && b.completed_at === null,
    });
  });

  let participantId = null;
  group('captcha', () => {
    const reg = registerNew(g1, userId, profile);
    if (reg.body === null) {
      return;
    }
    const again = request('POST', '/register', Object.assign({ giveaway_id: g1, user_id: userId }, profile), {
      token: BOT_TOKEN,
      name: 'register',
      tags: { flow: 'new' },
    });
    verify(again, 'register again', 200, {
      'same challenge while live': (b) => b.requires_captcha === true && b.session_id === reg.body.session_id,
    });

    const answer = solveCaptcha(reg.body.captcha_question);
    const wrong = validateWrong(g1, userId, answer + 1, reg.body.session_id);
    check(wrong.body, {
      'validate_captcha wrong: one attempt used': (b) =>
        b !== null && b.attempts_remaining === reg.body.attempts_remaining - 1,
    });

    const session = wrong.body !== null && wrong.body.new_question ? wrong.body.session_id : reg.body.session_id;
    const question = wrong.body !== null && wrong.body.new_question ? wrong.body.new_question : reg.body.captcha_question;
    const right = validateRight(g1, userId, solveCaptcha(question), session);
    if (right.body === null) {
      return;
    }
    participantId = right.body.participant_id;

    const repeat = validateRight(g1, userId, solveCaptcha(question), session);
    check(repeat.body, {
      'validate_captcha repeated: same participant_id': (b) => b !== null && b.participant_id === participantId,
    });
  });
  registrationSuccess.add(participantId !== null, { flow: 'new' });
  if (participantId === null) {
    return;
  }

  group('registered user', () => {
    const dup = request('POST', '/register', Object.assign({ giveaway_id: g1, user_id: userId }, profile), {
      token: BOT_TOKEN,
      name: 'register',
      tags: { flow: 'duplicate' },
      expected: [409],
    });
    verify(dup, 'register duplicate', 409, {
      'DUPLICATE_PARTICIPATION with participant_id': (b) =>
        b.error_code === 'DUPLICATE_PARTICIPATION' && b.participant_id === participantId,
    });

    captchaStatus(userId, { captchaCompleted: true, minParticipations: 1 });

    const second = registerReturning(g2, userId, profile);
    check(second.body, {
      'register returning: a new participant_id': (b) => b !== null && b.participant_id !== participantId,
    });

    const status = captchaStatus(userId, { captchaCompleted: true, minParticipations: 2 });
    check(status, {
      'captcha_status: completed_at set': (b) => b !== null && typeof b.completed_at === 'string',
    });
    winnerStatus(userId, g1, { participantId, isWinner: false });
  });

  group('giveaway service', () => {
    const count = countParticipants(g1);
    check(count, { 'count: includes the walkthrough user': (b) => b !== null && b.count >= 1 });
    const page = listParticipants(g1, 1, 50);
    check(page, {
      'list: walkthrough user on page 1': (b) =>
        b !== null && b.participants.some((p) => p.user_id === userId && p.participant_id === participantId),
    });
  });

  group('draw before the draw', () => {
    const record = drawRecord(g1);
    check(record, {
      'draw: committed with the setup commitment': (b) =>
        b !== null && b.draw.status === 'committed' && b.draw.commitment === data.commitments[g1],
    });
  });
}

export function mix(data) {
  mixedIteration(data, FLOW);
  think(PACE);
}

export function teardown(data) {
  teardownRun(data);
}
