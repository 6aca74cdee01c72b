// Spike test: a giveaway post goes viral. The arrival rate sits at
// BASE_RATE, jumps to SPIKE_RATE within ten seconds, holds there for
// SPIKE_HOLD, drops back and stays at BASE_RATE for RECOVERY.
//
// Requests are tagged with the phase (before, spike, after), so the
// thresholds can ask for different things of each: normal latency before,
// a bounded latency and few errors during the spike, and normal latency
// again after it (the service recovered: no stuck pool, no backlog).
//
//   k6 run -e BASE_URL=... -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... loadtest/scenarios/spike.js
//   k6 run -e BASE_RATE=10 -e SPIKE_RATE=300 -e SPIKE_HOLD=1m ... loadtest/scenarios/spike.js

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

const BASE_RATE = envNumber('BASE_RATE', 5); // iterations (flows) per second
const SPIKE_RATE = envNumber('SPIKE_RATE', 100);
const BEFORE = env('BEFORE', '2m');
const SPIKE_HOLD = env('SPIKE_HOLD', '2m');
const RECOVERY = env('RECOVERY', '3m');
const JUMP = '10s';
const FLOW = defaultFlowOptions([0.5, 2]);

const stages = [
  { duration: BEFORE, target: BASE_RATE },
  { duration: JUMP, target: SPIKE_RATE },
  { duration: SPIKE_HOLD, target: SPIKE_RATE },
  { duration: JUMP, target: BASE_RATE },
  { duration: RECOVERY, target: BASE_RATE },
];
const beforeEnd = parseDuration(BEFORE);
const spikeEnd = beforeEnd + 2 * parseDuration(JUMP) + parseDuration(SPIKE_HOLD);
const phases = [
  { name: 'before', until: beforeEnd },
  { name: 'spike', until: spikeEnd },
  { name: 'after', until: Infinity },
];

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: BASE_RATE,
      timeUnit: '1s',
      // Enough VUs for the spike up front: allocating them mid-test would
      // measure k6 rather than the service.
      preAllocatedVUs: envNumber('PRE_VUS', Math.ceil(SPIKE_RATE * 3)),
      maxVUs: envNumber('MAX_VUS', Math.ceil(SPIKE_RATE * 8)),
      stages,
      gracefulStop: '30s',
    },
  },
  setupTimeout: '2m',
  teardownTimeout: '10m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'spike' },
  thresholds: thresholds(
    {
      http_req_failed: ['rate<0.02'],
      'http_req_failed{phase:before}': ['rate<0.01'],
      'http_req_failed{phase:spike}': ['rate<0.05'],
      'http_req_failed{phase:after}': ['rate<0.01'],
      http_req_duration: ['p(95)<1500'],
      'http_req_duration{phase:before}': ['p(95)<500', 'p(99)<1000'],
      'http_req_duration{phase:spike}': ['p(95)<1500', 'p(99)<3000'],
      'http_req_duration{phase:after}': ['p(95)<500', 'p(99)<1000'],
      checks: ['rate>0.98'],
      registration_success: ['rate>0.97'],
      rate_limited: ['count==0'],
      dropped_iterations: ['count==0'],
    },
    perRequest(1500, 3000),
    drawThresholds()
  ),
};

export function setup() {
  return setupRun(envNumber('GIVEAWAYS', 10));
}

export default function (data) {
  setExtraTags({ phase: phaseAt(scenarioElapsedSeconds(), phases) });
  mixedIteration(data, FLOW);
}

export function teardown(data) {
  teardownRun(data);
}
