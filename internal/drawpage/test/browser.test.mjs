// Drives the draw page in headless Chromium against a running service, on
// telegive-draw-v1 draws. internal/drawpage's TestDrawPageInBrowser starts
// the service on v1, seeds a drawn giveaway (with a redraw) and an undrawn
// one, then restarts it on telegive-draw-v2 with the same database, as a
// deployment that switched would, and runs this file with:
//
//   DRAW_BASE_URL                 the service, e.g. http://127.0.0.1:40123
//   DRAW_GIVEAWAY_ID              a drawn giveaway
//   DRAW_COMMITTED_GIVEAWAY_ID    a giveaway with a commitment and no draw
//   DRAW_MISSING_GIVEAWAY_ID      a giveaway with no draw at all
//   DRAW_WINNER_ID                a winner drawn as a replacement for
//   DRAW_DISQUALIFIED_ID          a winner disqualified in redraw round 1
//   DRAW_LOSER_ID, DRAW_UNKNOWN_USER_ID
//   DRAW_BIG_GIVEAWAY_ID          a drawn giveaway of two users whose ids
//   DRAW_BIG_WINNER_ID,           are beyond 2^53 (2^53 + 1 and 2^63 - 1):
//   DRAW_BIG_LOSER_ID             one won, one did not
//   DRAW_ARTIFACTS_DIR            where the screenshots go
//
// Tampering is done by rewriting the API's answers on their way to the
// page (page.route), which is exactly what a dishonest server could do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const env = process.env;
const BASE = env.DRAW_BASE_URL;
const skip = BASE ? false : 'DRAW_BASE_URL is unset: run `go test ./internal/drawpage/`, which starts the service';

const G = env.DRAW_GIVEAWAY_ID;
const WINNER = env.DRAW_WINNER_ID;
const LOSER = env.DRAW_LOSER_ID;
const DISQUALIFIED = env.DRAW_DISQUALIFIED_ID;
const BIG = env.DRAW_BIG_GIVEAWAY_ID;
const ARTIFACTS = env.DRAW_ARTIFACTS_DIR || path.join(tmpdir(), 'draw-page-artifacts');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

const DRAW_OK = { record: 'pass', commitment: 'pass', timing: 'pass', 'draw-seed': 'pass', winners: 'pass', identities: 'pass' };

let context;
let userDataDir;
const external = []; // requests to anything but the service: there must be none

before(async () => {
  if (skip) return;
  // Imported here so that the file loads, and skips, without playwright-core.
  const { chromium } = await import('playwright-core');
  await mkdir(ARTIFACTS, { recursive: true });
  userDataDir = await mkdtemp(path.join(tmpdir(), 'draw-page-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1024, height: 800 },
  });
  context.setDefaultTimeout(10000);
  const origin = new URL(BASE).origin;
  await context.route((url) => url.origin !== origin, (route) => {
    external.push(route.request().url());
    return route.abort();
  });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

// open loads a page, first letting `setup` install routes, and records
// what must never happen: a script error or a Content-Security-Policy
// violation (which would mean inline code or a foreign source).
async function open(urlPath, setup) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  if (setup) await setup(page);
  const response = await page.goto(BASE + urlPath);
  assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  page.problems = problems;
  return page;
}

async function done(page) {
  assert.deepEqual(page.problems, []);
  assert.deepEqual(external, []);
  await page.close();
}

async function drawChecks(page) {
  await page.locator('#checks[data-done="true"]').waitFor();
  return statusesIn(page, '#checks');
}

function statusesIn(page, list) {
  return page.locator(`${list} > li`).evaluateAll((items) =>
    Object.fromEntries(items.map((li) => [li.dataset.check, li.dataset.status])));
}

async function checkUser(page, userId) {
  await page.getByLabel('Your Telegram user id').fill(String(userId));
  await page.getByRole('button', { name: 'Check' }).click();
  const result = page.locator('#me-result[data-done="true"]');
  await result.waitFor();
  return {
    outcome: await result.locator('.headline').getAttribute('data-outcome'),
    headline: await result.locator('.headline').textContent(),
    checks: await statusesIn(page, '#me-result .checks'),
    titles: await result.locator('.checks > li').evaluateAll((items) =>
      Object.fromEntries(items.map((li) => [li.dataset.check, li.querySelector('h3').textContent]))),
    badges: await result.locator('.checks > li').evaluateAll((items) =>
      Object.fromEntries(items.map((li) => [li.dataset.check, li.querySelector('.badge').textContent.trim()]))),
    text: await result.textContent(),
  };
}

// record fetches the untouched draw record; the ids of the seeded giveaway
// fit a JavaScript number, so JSON.parse reads it exactly.
async function record(giveaway) {
  const res = await fetch(`${BASE}/api/participants/${giveaway}/draw`);
  assert.equal(res.status, 200);
  return (await res.json()).draw;
}

const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });

// tamper rewrites the JSON of one API answer before the page sees it.
function tamper(urlPath, mutate) {
  return (page) => page.route(BASE + urlPath, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    mutate(body);
    await route.fulfill({ response, json: body });
  });
}

const flipHex = (h) => (h[0] === '0' ? '1' : '0') + h.slice(1);

// A winner of the initial draw who was not disqualified later.
function keptWinner(record) {
  const gone = new Set(record.replacements.flatMap((r) => r.disqualified_user_ids));
  return record.winners.find((w) => !gone.has(w.user_id));
}

test('drawn: every check passes, and a winner is told their position', { skip }, async () => {
  const page = await open(`/draws/${G}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Verified' }).waitFor());
  assert.equal(await page.locator(`#winners tr[data-user="${WINNER}"]`).count(), 1);
  const me = await checkUser(page, WINNER);
  assert.equal(me.outcome, 'won', me.text);
  assert.deepEqual(me.checks, { entered: 'pass', won: 'pass' });
  assert.match(me.headline, new RegExp(`^User ${WINNER} won as a replacement for user ${DISQUALIFIED}: position \\d+\\.$`));
  await shot(page, 'drawn-winner.png');
  await done(page);
});

test('drawn: a loser sees every check pass and that they did not win', { skip }, async () => {
  const page = await open(`/draws/${G}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  const me = await checkUser(page, LOSER);
  assert.equal(me.outcome, 'lost', me.text);
  assert.deepEqual(me.checks, { entered: 'pass', won: 'pass' });
  assert.match(me.text, /did not win/);
  await shot(page, 'drawn-loser.png');
  await done(page);
});

test('drawn: a disqualified winner is told the round and the reason', { skip }, async () => {
  const page = await open(`/draws/${G}`);
  await drawChecks(page);
  const me = await checkUser(page, env.DRAW_DISQUALIFIED_ID);
  assert.equal(me.outcome, 'lost', me.text);
  assert.match(me.text, /disqualified in redraw round 1/);
  await done(page);
});

test('drawn: an unknown user id is reported as not entered; a malformed one is refused', { skip }, async () => {
  const page = await open(`/draws/${G}`);
  await drawChecks(page);
  const me = await checkUser(page, env.DRAW_UNKNOWN_USER_ID);
  assert.equal(me.outcome, 'not-entered', me.text);
  assert.deepEqual(me.checks, { entered: 'info', won: 'skip' });
  assert.match(me.text, /not entered/);
  await shot(page, 'not-entered.png');

  await page.getByLabel('Your Telegram user id').fill('12ab');
  await page.getByRole('button', { name: 'Check' }).click();
  await page.locator('#me-error:not([hidden])').waitFor();
  assert.match(await page.locator('#me-error').textContent(), /digits only/);
  assert.equal(await page.getByLabel('Your Telegram user id').getAttribute('aria-invalid'), 'true');
  await done(page);
});

test('tampered: another server seed fails the commitment and the draw seed', { skip }, async () => {
  const page = await open(`/draws/${G}`, tamper(`/api/participants/${G}/draw`, (b) => {
    b.draw.server_seed = flipHex(b.draw.server_seed);
  }));
  assert.deepEqual(await drawChecks(page), { ...DRAW_OK, commitment: 'fail', 'draw-seed': 'fail' });
  assert.match(await page.locator('[data-check="commitment"]').textContent(), /SHA-256 of the revealed seed is [0-9a-f]{64}, but the commitment is/);
  await page.getByRole('heading', { name: 'Verification failed' }).waitFor();
  await shot(page, 'tampered-seed.png');
  await done(page);
});

test('tampered: another entrants root fails the draw seed, the winner proofs and the entry', { skip }, async () => {
  const page = await open(`/draws/${G}`, tamper(`/api/participants/${G}/draw`, (b) => {
    b.draw.entrants_root = flipHex(b.draw.entrants_root);
  }));
  assert.deepEqual(await drawChecks(page), { ...DRAW_OK, 'draw-seed': 'fail', identities: 'fail' });
  const me = await checkUser(page, WINNER);
  assert.equal(me.checks.entered, 'fail', me.text);
  assert.equal(me.outcome, 'unknown');
  await shot(page, 'tampered-root.png');
  await done(page);
});

test('tampered: a winner swapped for a loser in the record fails the winner identities', { skip }, async () => {
  let swapped;
  const page = await open(`/draws/${G}`, tamper(`/api/participants/${G}/draw`, (b) => {
    const w = keptWinner(b.draw);
    swapped = w.user_id;
    w.user_id = Number(LOSER);
  }));
  assert.deepEqual(await drawChecks(page), { ...DRAW_OK, identities: 'fail' });
  assert.match(await page.locator('[data-check="identities"]').textContent(),
    new RegExp(`names user ${LOSER}, the proof is for user ${swapped}`));
  // The record now claims the loser won; their own proof says otherwise.
  const me = await checkUser(page, LOSER);
  assert.equal(me.checks.won, 'fail', me.text);
  assert.equal(me.outcome, 'unknown');
  await shot(page, 'tampered-winner.png');
  await done(page);
});

test('tampered: a winner swapped in the record and in its proof fails the inclusion proof', { skip }, async () => {
  let swapped;
  const page = await open(`/draws/${G}`, async (p) => {
    await tamper(`/api/participants/${G}/draw`, (b) => {
      const w = keptWinner(b.draw);
      swapped = w.user_id;
      w.user_id = Number(LOSER);
    })(p);
    await tamper(`/api/participants/${G}/draw/winner-proofs`, (b) => {
      b.proofs.find((x) => x.user_id === swapped).user_id = Number(LOSER);
    })(p);
  });
  assert.deepEqual(await drawChecks(page), { ...DRAW_OK, identities: 'fail' });
  assert.match(await page.locator('[data-check="identities"]').textContent(), /audit path leads to/);
  await done(page);
});

test('tampered: two winners trading places fails the winners', { skip }, async () => {
  const page = await open(`/draws/${G}`, tamper(`/api/participants/${G}/draw`, (b) => {
    const [a, c] = b.draw.winners;
    [a.user_id, c.user_id, a.index, c.index] = [c.user_id, a.user_id, c.index, a.index];
  }));
  const checks = await drawChecks(page);
  assert.equal(checks.winners, 'fail');
  assert.deepEqual({ ...checks, winners: 'pass', identities: 'pass' }, DRAW_OK);
  assert.match(await page.locator('[data-check="winners"]').textContent(), /position 1: the draw seed picks entrant index \d+, the record says \d+/i);
  await done(page);
});

test('committed: shows the commitment and when it was made', { skip }, async () => {
  const page = await open(`/draws/${env.DRAW_COMMITTED_GIVEAWAY_ID}`);
  await page.locator('body[data-state="committed"]').waitFor();
  await page.getByRole('heading', { name: 'Not drawn yet' }).waitFor();
  assert.match(await page.locator('#commitment').textContent(), /^[0-9a-f]{64}$/);
  assert.match(await page.locator('#committed-at').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  assert.equal(await page.locator('#drawn').isHidden(), true);
  await shot(page, 'committed.png');
  await done(page);
});

test('phone: the page fits a 375px screen, and ?user= checks at once', { skip }, async () => {
  const page = await context.newPage();
  await page.setViewportSize({ width: 375, height: 812 });
  await page.goto(`${BASE}/draws/${G}?user=${WINNER}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  await page.locator('#me-result[data-done="true"]').waitFor();
  assert.equal(await page.locator('#me-result .headline').getAttribute('data-outcome'), 'won');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await shot(page, 'phone-winner.png');
  await page.screenshot({ path: path.join(ARTIFACTS, 'phone-winner-first-screen.png') });
  await page.goto(`${BASE}/draws/${env.DRAW_COMMITTED_GIVEAWAY_ID}`);
  await page.locator('body[data-state="committed"]').waitFor();
  await shot(page, 'phone-committed.png');
  await page.close();
});

test('errors: no draw, network failure and malformed ids get a clear message', { skip }, async () => {
  const cases = [
    [`/draws/${env.DRAW_MISSING_GIVEAWAY_ID}`, null, `No draw for giveaway ${env.DRAW_MISSING_GIVEAWAY_ID}`, 'error-no-draw.png'],
    [`/draws/${G}`, (p) => p.route(`${BASE}/api/participants/${G}/draw`, (r) => r.abort('internetdisconnected')),
      'Could not reach the server', 'error-network.png'],
    ['/draws/0', null, 'Malformed giveaway id'],
    // An int64 id beyond 2^53 is asked for exactly (as a JavaScript number
    // it would read 123456789012345680); 2^63 is no int64.
    ['/draws/123456789012345678', null, 'No draw for giveaway 123456789012345678'],
    ['/draws/9223372036854775808', null, 'Malformed giveaway id'],
    ['/draws/12345678901234567890123', null, 'Malformed giveaway id'],
  ];
  for (const [urlPath, setup, title, file] of cases) {
    const page = await open(urlPath, setup);
    await page.locator('body[data-state="error"]').waitFor();
    assert.equal(await page.locator('#error-title').textContent(), title, urlPath);
    assert.equal(await page.getByRole('button', { name: 'Try again' }).isVisible(), true);
    if (file) await shot(page, file);
    await done(page);
  }
});

test('big ids: a draw between users 2^53 + 1 and 2^63 - 1 verifies, and each is told their result', { skip }, async () => {
  const winner = env.DRAW_BIG_WINNER_ID;
  const loser = env.DRAW_BIG_LOSER_ID;
  assert.deepEqual([winner, loser].sort(), ['9007199254740993', '9223372036854775807']);
  const page = await open(`/draws/${BIG}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  await page.getByRole('heading', { name: 'Verified' }).waitFor();
  assert.deepEqual(await page.locator('#winners tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.user)), [winner]);
  assert.match(await page.locator('#winners tbody tr').textContent(), new RegExp(winner));
  assert.equal(await page.getByLabel('Your Telegram user id').isEnabled(), true);

  const won = await checkUser(page, winner);
  assert.equal(won.outcome, 'won', won.text);
  assert.deepEqual(won.checks, { entered: 'pass', won: 'pass' });
  assert.equal(won.headline, `User ${winner} won: position 1.`);
  await shot(page, 'big-ids-winner.png');

  const lost = await checkUser(page, loser);
  assert.equal(lost.outcome, 'lost', lost.text);
  assert.deepEqual(lost.checks, { entered: 'pass', won: 'pass' });
  assert.equal(lost.headline, `User ${loser} took part but did not win.`);
  assert.match(lost.text, new RegExp(`user ${loser} is entrant index \\d of 2`, 'i'));

  await page.getByLabel('Your Telegram user id').fill('9223372036854775808');
  await page.getByRole('button', { name: 'Check' }).click();
  await page.locator('#me-error:not([hidden])').waitFor();
  assert.match(await page.locator('#me-error').textContent(), /at most 9223372036854775807/);

  // Nineteen-digit ids still fit a phone, unbroken.
  await page.setViewportSize({ width: 375, height: 812 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}: ${e.textContent.slice(0, 40)}`));
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen: ${wide.join('; ')}`);
  await shot(page, 'phone-big-ids.png');
  await done(page);
});

test('tampered: under a failed draw a winner reads "not verified", never a win', { skip }, async () => {
  const page = await open(`/draws/${G}`, tamper(`/api/participants/${G}/draw`, (b) => {
    b.draw.server_seed = flipHex(b.draw.server_seed);
  }));
  assert.deepEqual(await drawChecks(page), { ...DRAW_OK, commitment: 'fail', 'draw-seed': 'fail' });
  const me = await checkUser(page, WINNER);
  assert.equal(me.outcome, 'unknown', me.text);
  assert.equal(me.headline, `User ${WINNER}: not verified.`);
  assert.doesNotMatch(me.headline, /won|position/i);
  assert.equal(await page.locator('#me-result .headline.won').count(), 0);
  // Their own proof still checks out; the win it agrees with does not.
  assert.deepEqual(me.checks, { entered: 'pass', won: 'unverified' });
  assert.notEqual(me.badges.won, '✓ Passed');
  assert.match(me.text, /the draw failed 2 of 6 checks \(Commitment, Draw seed\)/i);
  await shot(page, 'tampered-seed-winner.png');
  await done(page);
});

test('drawn: a loser\'s result check is not a passed "Won"', { skip }, async () => {
  const page = await open(`/draws/${G}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  const me = await checkUser(page, LOSER);
  assert.equal(me.outcome, 'lost', me.text);
  assert.equal(me.titles.won, 'Did not win');
  assert.match(me.text, /Did not win.*not among the current winners/s);
  const passedWon = await page.locator('#me-result .check.pass h3').evaluateAll((hs) => hs.filter((h) => h.textContent === 'Won').length);
  assert.equal(passedWon, 0);
  await done(page);
});

test('tampered: when the entrant\'s own proof fails, the Won check is not run', { skip }, async () => {
  const page = await open(`/draws/${G}`, tamper(`/api/participants/${G}/draw/proof/${WINNER}`, (b) => {
    b.proof.audit_path[0] = flipHex(b.proof.audit_path[0]);
  }));
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  const me = await checkUser(page, WINNER);
  assert.deepEqual(me.checks, { entered: 'fail', won: 'skip' });
  assert.equal(me.outcome, 'unknown', me.text);
  assert.equal(me.headline, `User ${WINNER}: not verified.`);
  assert.equal(me.badges.won, '– Not run');
  assert.match(me.text, /not run: the entry's own proof failed/i);
  await shot(page, 'tampered-own-proof.png');
  await done(page);
});

test('drawn: a replacement winner is told whom they replaced, and the table marks the row', { skip }, async () => {
  const kept = keptWinner(await record(G)).user_id;
  const page = await open(`/draws/${G}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  const row = page.locator(`#winners tr[data-user="${WINNER}"]`);
  assert.equal(await row.getAttribute('data-replaces'), DISQUALIFIED);
  assert.match(await row.getAttribute('class'), /\breplacement\b/);
  assert.match(await row.textContent(), new RegExp(`Redraw round 1, replacing user ${DISQUALIFIED}`));
  await page.locator('#winners').screenshot({ path: path.join(ARTIFACTS, 'winners-replacement.png') });
  const keptRow = page.locator(`#winners tr[data-user="${kept}"]`);
  assert.equal(await keptRow.getAttribute('data-replaces'), null);
  assert.match(await keptRow.textContent(), /Initial draw/);

  const me = await checkUser(page, WINNER);
  assert.equal(me.outcome, 'won', me.text);
  assert.match(me.headline, new RegExp(`won as a replacement for user ${DISQUALIFIED}`));
  assert.match(me.text, new RegExp(`as a replacement for user ${DISQUALIFIED} \\(redraw round 1\\)`));
  const first = await checkUser(page, kept);
  assert.equal(first.outcome, 'won', first.text);
  assert.match(first.headline, new RegExp(`^User ${kept} won: position \\d+\\.$`));
  await done(page);
});

// A time on the page: RFC 3339 in UTC, to the second.
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

// timesIn returns every date-like word in the page's text outside the raw
// JSON, and the text and datetime of every <time> element.
function timesIn(page, root) {
  return page.evaluate((root) => {
    const copy = document.querySelector(root).cloneNode(true);
    for (const raw of copy.querySelectorAll('#raw')) raw.remove();
    return {
      words: copy.textContent.match(/\d{4}-\d\d-\d\d(?:[T ][0-9:.]*(?:Z|[+-]\d\d:\d\d)?)?/g) ?? [],
      elements: [...copy.querySelectorAll('time')].map((t) => [t.textContent, t.dateTime]),
      text: copy.textContent,
    };
  }, root);
}

test('dates: every time reads one way, RFC 3339 in UTC to the second', { skip }, async () => {
  const page = await open(`/draws/${G}`);
  assert.deepEqual(await drawChecks(page), DRAW_OK);
  await checkUser(page, WINNER);
  const got = await timesIn(page, '#drawn');
  // committed_at and drawn_at in the record, drawn in the facts, both in
  // the timing check, and the redraw round.
  assert.ok(got.words.length >= 6, JSON.stringify(got.words));
  for (const w of got.words) assert.match(w, TIME);
  assert.ok(got.elements.length >= 4, JSON.stringify(got.elements));
  for (const [shown, datetime] of got.elements) {
    assert.match(shown, TIME);
    assert.equal(shown, new Date(datetime).toISOString().replace(/\.\d+Z$/, 'Z'));
  }
  assert.doesNotMatch(got.text, /\d\d:\d\d:\d\d\.\d|\d{1,2}\/\d{1,2}\/\d{4}|\b[AP]M\b/);
  await done(page);

  const committed = await open(`/draws/${env.DRAW_COMMITTED_GIVEAWAY_ID}`);
  await committed.locator('body[data-state="committed"]').waitFor();
  const c = await timesIn(committed, '#committed');
  assert.deepEqual(c.words.map((w) => TIME.test(w)), [true]);
  await done(committed);
});
