// Stress test: raise the arrival rate level by level until the service
// starts to fail, and stop there.
//
// A ramping-arrival-rate scenario climbs through LEVELS (iterations per
// second; one iteration is one flow of the traffic mix, 1 to 3 requests),
// ramping for RAMP and holding each level for HOLD. Every request is tagged
// with its level (level:rate_0100 for 100 iterations/s), so the summary
// shows the failure rate and latency of each level: the first level whose
// numbers go bad is the service's limit.
//
// Targets: levels up to TARGET_RATE must keep p95 < 500 ms and failures
// under 1 % (thresholds); higher levels are only reported. The run aborts
// (abortOnFail) once more than 5 % of all requests failed, after at least a
// minute, instead of hammering a service that already broke.
//
//   k6 run -e BASE_URL=... -e BOT_TOKEN=... -e GIVEAWAY_TOKEN=... loadtest/scenarios/stress.js
//   k6 run -e LEVELS=20,50,100,150,200 -e HOLD=2m -e TARGET_RATE=100 ... loadtest/scenarios/stress.js

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

const LEVELS = env('LEVELS', '10,25,50,100,200,400,800')
  .split(',')
  .map((s) => Number(s.trim()));
for (const level of LEVELS) {
  if (!Number.isInteger(level) || level < 1) {
    throw new Error(`LEVELS=${env('LEVELS', '')}: want positive integers separated by commas`);
  }
}
const RAMP = env('RAMP', '30s');
const HOLD = env('HOLD', '1m');
const TARGET_RATE = envNumber('TARGET_RATE', 100);
const FLOW = defaultFlowOptions([0.2, 0.5]); // short think: the point is the rate

function levelName(rate) {
  return `rate_${String(rate).padStart(4, '0')}`;
}

// Stages and the level each second of the scenario belongs to.
const stages = [];
const phases = [];
let elapsed = 0;
for (const level of LEVELS) {
  stages.push({ duration: RAMP, target: level });
  stages.push({ duration: HOLD, target: level });
  elapsed += parseDuration(RAMP) + parseDuration(HOLD);
  phases.push({ name: levelName(level), until: elapsed });
}
stages.push({ duration: '20s', target: 0 });
phases.push({ name: 'cooldown', until: Infinity });

// Per level: enforced up to TARGET_RATE, reported above it (a threshold
// that always holds still puts the sub-metric in the summary).
const levelThresholds = {};
for (const level of LEVELS) {
  const tag = levelName(level);
  const enforced = level <= TARGET_RATE;
  levelThresholds[`http_req_failed{level:${tag}}`] = [enforced ? 'rate<0.01' : 'rate>=0'];
  levelThresholds[`http_req_duration{level:${tag}}`] = enforced ? ['p(95)<500', 'p(99)<1000'] : ['p(95)>=0'];
}

export const options = {
  scenarios: {
    stress: {
      executor: 'ramping-arrival-rate',
      startRate: LEVELS[0],
      timeUnit: '1s',
      preAllocatedVUs: envNumber('PRE_VUS', 100),
      maxVUs: envNumber('MAX_VUS', 1500),
      stages,
      gracefulStop: '30s',
    },
  },
  setupTimeout: '2m',
  teardownTimeout: '10m',
  summaryTrendStats: SUMMARY_TREND_STATS,
  tags: { test: 'stress' },
  thresholds: thresholds(
    {
      http_req_failed: [{ threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: '1m' }],
      checks: ['rate>0.95'],
      http_req_duration: ['p(95)<2000'],
      rate_limited: ['count==0'],
    },
    levelThresholds,
    perRequest(2000, 5000),
    drawThresholds()
  ),
};

export function setup() {
  return setupRun(envNumber('GIVEAWAYS', 20));
}

export default function (data) {
  setExtraTags({ level: phaseAt(scenarioElapsedSeconds(), phases) });
  mixedIteration(data, FLOW);
}

export function teardown(data) {
  teardownRun(data);
}
