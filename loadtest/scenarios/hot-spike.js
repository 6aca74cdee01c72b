// Hot-giveaway spike: registrations into ONE giveaway at NORMAL_RATE (500/s)
// for BEFORE, a jump to SPIKE_RATE (3000/s) within one second, SPIKE_HOLD
// (30 s) there, then at once back to NORMAL_RATE for TAIL (30 s) to see
// latency recover. (spike.js is the traffic mix's spike across giveaways.)
//
// Requests are tagged phase:before|ramp|hold|recovery|after, recovery
// being the tail's first RECOVERY (5 s). Targets: nothing but 201, 409 and,
// beyond the service's MAX_IN_FLIGHT, 503 with Retry-After; every row
// stored once (teardown); and after the recovery window the latency of
// before again: p99 at most P99_MS (50) in phases before and after.
//
//   k6 run -e BASE_URL=... -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... -e USER_BASE=... -e USERS=130000 loadtest/scenarios/hot-spike.js

import { SUMMARY_TREND_STATS, env, envNumber, parseDuration, phaseAt, scenarioElapsedSeconds, setExtraTags, thresholds } from '../lib/telegive.js';
import { hotRegister, hotSetup, hotTeardown, hotThresholds } from '../lib/hot.js';

const NORMAL_RATE = envNumber('NORMAL_RATE', 500);
const SPIKE_RATE = envNumber('SPIKE_RATE', 3000);
const BEFORE = env('BEFORE', '10s');
const SPIKE_HOLD = env('SPIKE_HOLD', '30s');
const TAIL = env('TAIL', '30s');
const RECOVERY = env('RECOVERY', '5s');
const P99_MS = envNumber('P99_MS', 50);

const beforeEnd = parseDuration(BEFORE);
const rampEnd = beforeEnd + 1;
const holdEnd = rampEnd + parseDuration(SPIKE_HOLD);
const phases = [
  { name: 'before', until: beforeEnd },
  { name: 'ramp', until: rampEnd },
  { name: 'hold', until: holdEnd },
  { name: 'recovery', until: holdEnd + parseDuration(RECOVERY) },
  { name: 'after', until: Infinity },
];

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: NORMAL_RATE,
      timeUnit: '1s',
      stages: [
        { duration: BEFORE, target: NORMAL_RATE },
        { duration: '1s', target: SPIKE_RATE },
        { duration: SPIKE_HOLD, target: SPIKE_RATE },
        { duration: '0s', target: NORMAL_RATE },
        { duration: TAIL, target: NORMAL_RATE },
      ],
      // VUs for the peak up front: allocating them mid-spike would measure k6.
      preAllocatedVUs: envNumber('PRE_VUS', SPIKE_RATE),
      maxVUs: envNumber('MAX_VUS', SPIKE_RATE * 4),
      gracefulStop: '30s',
    },
  },
  setupTimeout: '10m',
  teardownTimeout: '5m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'hot_spike' },
  thresholds: thresholds(hotThresholds(), {
    'http_req_duration{name:register,phase:before}': [`p(99)<=${P99_MS}`],
    'http_req_duration{name:register,phase:after}': [`p(99)<=${P99_MS}`],
    'http_req_duration{name:register,phase:hold}': ['p(99)<8000'],
    'hot_served{phase:after}': ['rate==1'],
    'hot_shed{phase:hold}': ['count>=0'],
  }),
};

export function setup() {
  return hotSetup();
}

export default function (data) {
  const phase = phaseAt(scenarioElapsedSeconds(), phases);
  setExtraTags({ phase });
  hotRegister(data, { phase });
}

export function teardown(data) {
  hotTeardown(data);
}
