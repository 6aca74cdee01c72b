// The readiness checklist's load profile: 100 concurrent virtual users for
// 10 minutes, at least 1,000 requests per minute, response time p95 under
// 500 ms.
//
// Each VU plays the bot's users and, now and then, the giveaway service:
// first-timers going through register -> captcha -> validate-captcha (most
// of the traffic), users who passed the captcha joining another giveaway,
// the bot's status polls and the giveaway service's count and listing, with
// think time between steps. setup publishes each giveaway's draw
// commitment; teardown draws every giveaway once and verifies the record.
//
//   k6 run -e BASE_URL=http://localhost:8004 -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... loadtest/scenarios/checklist.js
//
// VUS, DURATION, GIVEAWAYS, THINK_MIN/THINK_MAX and PACE_MIN/PACE_MAX
// (seconds) override the profile; the thresholds stay those of the
// checklist.

import {
  SUMMARY_TREND_STATS,
  defaultFlowOptions,
  drawThresholds,
  env,
  envNumber,
  mixedIteration,
  perRequest,
  setupRun,
  teardownRun,
  think,
  thresholds,
} from '../lib/telegive.js';

const VUS = envNumber('VUS', 100);
const DURATION = env('DURATION', '10m');
const FLOW = defaultFlowOptions([1, 3]); // a user reading the captcha
const PACE = [envNumber('PACE_MIN', 1), envNumber('PACE_MAX', 3)]; // between two bot events

export const options = {
  scenarios: {
    checklist: {
      executor: 'constant-vus',
      vus: VUS,
      duration: DURATION,
      gracefulStop: '30s',
    },
  },
  setupTimeout: '2m',
  teardownTimeout: '10m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'checklist' },
  thresholds: thresholds(
    {
      // The checklist: p95 < 500 ms over every request, and at least
      // 1,000 requests per minute (16.67 per second over the whole run).
      http_req_duration: ['p(95)<500', 'p(99)<1000'],
      http_reqs: ['rate>=16.67'],
      http_req_failed: ['rate<0.01'],
      checks: ['rate>0.99'],
      registration_success: ['rate>0.99'],
      registration_flow_duration: ['p(95)<1000'],
      rate_limited: ['count==0'],
    },
    perRequest(500, 1000),
    drawThresholds()
  ),
};

export function setup() {
  return setupRun(envNumber('GIVEAWAYS', 10));
}

export default function (data) {
  mixedIteration(data, FLOW);
  think(PACE);
}

export function teardown(data) {
  teardownRun(data);
}
