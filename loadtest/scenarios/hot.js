// Hot giveaway: everyone joins ONE giveaway at once, as when a giveaway is
// posted in a channel of millions. Each iteration registers one user who
// passed the captcha (once each; see lib/hot.js for where the users come
// from) into the one giveaway.
//
// MODE=flat: VUS (50) virtual users register as fast as the service
// answers, for DURATION: the rate to compare with pgbench running the same
// transaction (loadtest/pgbench/).
// MODE=paced: RATE (2000) registrations a second from VUS (100) virtual
// users, each with its own connection, for DURATION; k6 measures each
// request from when it was sent, so a late start shows in
// dropped_iterations rather than in the latency. Targets: at least 99 %
// served (201 or 409), p99 at most P99_MS (50), nothing else.
//
//   k6 run -e BASE_URL=... -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... -e USER_BASE=... -e USERS=100000 loadtest/scenarios/hot.js
//   k6 run -e MODE=paced -e RATE=2000 -e VUS=100 ... loadtest/scenarios/hot.js

import { SUMMARY_TREND_STATS, env, envNumber, thresholds } from '../lib/telegive.js';
import { hotRegister, hotSetup, hotTeardown, hotThresholds } from '../lib/hot.js';

const MODE = env('MODE', 'flat');
if (MODE !== 'flat' && MODE !== 'paced') {
  throw new Error(`MODE=${MODE}: want flat or paced`);
}
const DURATION = env('DURATION', '30s');
const RATE = envNumber('RATE', 2000);
const VUS = envNumber('VUS', MODE === 'flat' ? 50 : 100);
const P99_MS = envNumber('P99_MS', 50);

const scenario =
  MODE === 'flat'
    ? { executor: 'constant-vus', vus: VUS, duration: DURATION }
    : {
        executor: 'constant-arrival-rate',
        rate: RATE,
        timeUnit: '1s',
        duration: DURATION,
        // As many VUs as connections, allocated up front.
        preAllocatedVUs: VUS,
        maxVUs: VUS,
      };

export const options = {
  scenarios: { hot: Object.assign({ gracefulStop: '10s' }, scenario) },
  setupTimeout: '10m',
  teardownTimeout: '5m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: `hot_${MODE}` },
  thresholds: thresholds(
    hotThresholds(),
    MODE === 'paced'
      ? {
          hot_served: ['rate>=0.99'],
          'http_req_duration{name:register}': [`p(99)<=${P99_MS}`],
          dropped_iterations: ['count==0'],
        }
      : { 'http_req_duration{name:register}': ['p(99)<5000'] }
  ),
};

export function setup() {
  return hotSetup();
}

export default function (data) {
  hotRegister(data);
}

export function teardown(data) {
  hotTeardown(data);
}
