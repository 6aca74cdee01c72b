// Soak test: moderate, steady load for an hour or more, to find what only
// time shows: memory or connection leaks, a growing table that slows a
// query, captcha challenges piling up, a slow drift of the latency.
//
// A constant-arrival-rate scenario runs RATE flows per second of the
// traffic mix (about 1,200 requests per minute at the default 10) for
// DURATION. Requests are tagged with a window: start (the first WINDOW),
// end (the last WINDOW) and middle, and the thresholds hold the end to the
// same targets as the start, so a service that degrades over the run fails
// even when its overall p95 is fine. teardown draws the run's giveaways,
// which by then hold thousands of entrants each.
//
//   k6 run -e BASE_URL=... -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... loadtest/scenarios/soak.js
//   k6 run -e DURATION=8h -e RATE=20 ... loadtest/scenarios/soak.js

import {
  SUMMARY_TREND_STATS,
  defaultFlowOptions,
  drawThresholds,
  env,
  envNumber,
  mixedIteration,
  parseDuration,
  perRequest,
  phaseAt,
  scenarioElapsedSeconds,
  setExtraTags,
  setupRun,
  teardownRun,
  thresholds,
} from '../lib/telegive.js';

const RATE = envNumber('RATE', 10); // iterations (flows) per second
const DURATION = env('DURATION', '1h');
const FLOW = defaultFlowOptions([1, 3]);

const total = parseDuration(DURATION);
const windowSeconds = Math.min(parseDuration(env('WINDOW', '10m')), total / 3);
const phases = [
  { name: 'start', until: windowSeconds },
  { name: 'middle', until: total - windowSeconds },
  { name: 'end', until: Infinity },
];

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: envNumber('PRE_VUS', Math.ceil(RATE * 6)),
      maxVUs: envNumber('MAX_VUS', Math.ceil(RATE * 20)),
      gracefulStop: '30s',
    },
  },
  setupTimeout: '2m',
  teardownTimeout: '15m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'soak' },
  thresholds: thresholds(
    {
      http_req_duration: ['p(95)<500', 'p(99)<1000'],
      'http_req_duration{window:start}': ['p(95)<500', 'p(99)<1000'],
      'http_req_duration{window:end}': ['p(95)<500', 'p(99)<1000'],
      http_req_failed: ['rate<0.01'],
      'http_req_failed{window:end}': ['rate<0.01'],
      checks: ['rate>0.99'],
      registration_success: ['rate>0.99'],
      registration_flow_duration: ['p(95)<1000'],
      rate_limited: ['count==0'],
      dropped_iterations: ['count==0'],
    },
    perRequest(500, 1000),
    drawThresholds()
  ),
};

export function setup() {
  return setupRun(envNumber('GIVEAWAYS', 20));
}

export default function (data) {
  setExtraTags({ window: phaseAt(scenarioElapsedSeconds(), phases) });
  mixedIteration(data, FLOW);
}

export function teardown(data) {
  teardownRun(data);
}
