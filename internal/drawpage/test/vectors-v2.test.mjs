// Checks the page's v2 verifier, static/verify2.js, against the committed
// telegive-draw-v2 vectors (pkg/draw/testdata/vectors-v2.json) and the five
// real quicknet rounds (pkg/beacon/testdata), and checks that tampering
// with a signature, a proof, a cosignature's time or a ticket count fails
// the matching check. Run with `node --test vectors-v2.test.mjs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

import { fromHex, parseJSON, toHex, unverifiedDraw } from '../static/verify.js';
import {
  DRAW_CHECKS_V2, DST, FAILED, PAGE_STREAM_VALUES, SCHEME, SERVICE_KEYS, SeedStream, UNVERIFIED, VERIFIED, canonicalJSON, chainHash,
  drawAssurance, drawSeedV2, firstRoundAtOrAfter, logEntries, parseDrawnRecordV2, parseLogKeys, pinnedChain, randomnessOf, roundTime,
  sumRoot, ticketInclusion, verifyBeacon, verifyDrawV2, verifyParticipantV2,
} from '../static/verify2.js';
import { PINNED_CHAINS, PINNED_LOGS, QUICKNET } from '../static/pins.js';
import { bls12_381, ed25519 } from '../static/noble-curves.js';

const read = (p) => readFileSync(new URL(p, import.meta.url), 'utf8');
// parseJSON, as the page reads the API: every integer a BigInt.
const vectors = parseJSON(read('../../../pkg/draw/testdata/vectors-v2.json'));
const beacons = parseJSON(read('../../../pkg/beacon/testdata/drand-quicknet.json'));
const PINS = [{ verifierKey: vectors.log_key, witnesses: vectors.witnesses, quorum: 2n }].map((p) => ({ ...p, quorum: 2 }));
// served is /api/participants/log/key as the service answers it (pkg/api's
// LogKeyResponse) for these witness keys.
const served = (witnesses, quorum = BigInt(witnesses.length)) => ({
  success: true, origin: vectors.log_key.split('+')[0], verifier_key: vectors.log_key, quorum,
  witnesses: witnesses.map((k) => ({ name: k.split('+')[0], verifier_key: k, url: `https://${k.split('+')[0]}` })),
});
const SERVED = served(vectors.witnesses);

const clone = (v) => parseJSON(stringify(v));
const stringify = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `__big__${x}` : x)).replace(/"__big__(-?\d+)"/g, '$1');
const statuses = (checks) => Object.fromEntries(checks.map((c) => [c.id, c.status]));
const detail = (res, id) => res.checks.find((c) => c.id === id).detail;
// The re-check is the service's statement, a note whatever it says.
const allPass = { ...Object.fromEntries(DRAW_CHECKS_V2.map(([id]) => [id, 'pass'])), recheck: 'info' };
const flipBit = (h, byte, mask) => {
  const b = fromHex(h, 'hex');
  b[byte] ^= mask;
  return toHex(b);
};

const attested = (d) => d.output.record.freeze_attested;
// What every check of a vector's record gives: all pass when it is
// attested and the keys are pinned; unattested, the freeze time rests on
// the organiser's word and no key is needed.
const expected = (d) => (attested(d) ? allPass : { ...allPass, attestation: 'trust', keys: 'info' });

function winnerProofs(d) {
  return d.output.current_winners.filter((w) => w.user_id !== null).map((w) => d.output.proofs.find((p) => p.user_id === w.user_id));
}

async function verify(d, record = d.output.record, opts = {}) {
  return verifyDrawV2(record, { giveawayId: d.input.giveaway_id, winnerProofs: winnerProofs(d), logKeys: SERVED, pins: PINS, ...opts });
}

const byName = (name) => vectors.draws.find((d) => d.name === name);

test('pins: quicknet is pinned exactly as the vectors and drand publish it, and its hash follows the chain-hash rule', async () => {
  assert.equal(toHex(await chainHash(QUICKNET)), QUICKNET.hash);
  // The page as committed pins quicknet and no other chain, and no log.
  assert.deepEqual(PINNED_CHAINS, [QUICKNET]);
  assert.deepEqual(PINNED_LOGS, []);
  assert.equal(await pinnedChain(QUICKNET.hash), QUICKNET);
  assert.equal(QUICKNET.scheme, SCHEME);
  assert.equal(QUICKNET.dst, DST);
  for (const c of [vectors.chain, beacons.chain]) {
    assert.equal(c.hash, QUICKNET.hash);
    assert.equal(c.public_key, QUICKNET.publicKey);
    assert.equal(c.genesis_time, QUICKNET.genesisTime);
    assert.equal(c.period, QUICKNET.period);
    assert.equal(c.groupHash, QUICKNET.groupHash);
    assert.equal(c.schemeID, QUICKNET.scheme);
  }
  assert.equal(beacons.chain.dst, QUICKNET.dst);
  // The page ships with no log pinned: a deployment adds its own.
  assert.deepEqual(PINNED_LOGS, []);
  // Round times and the first round at or after a time, at the edges.
  assert.equal(roundTime(QUICKNET, 1n), QUICKNET.genesisTime);
  assert.equal(roundTime(QUICKNET, 1000n), QUICKNET.genesisTime + 999n * 3n);
  assert.equal(firstRoundAtOrAfter(QUICKNET, QUICKNET.genesisTime - 100n), 1n);
  assert.equal(firstRoundAtOrAfter(QUICKNET, roundTime(QUICKNET, 77n)), 77n);
  assert.equal(firstRoundAtOrAfter(QUICKNET, roundTime(QUICKNET, 77n) + 1n), 78n);
});

test('beacons: the five real quicknet rounds verify, and their randomness is SHA-256 of the signature', async () => {
  assert.equal(beacons.rounds.length, 5);
  for (const r of beacons.rounds) {
    const sig = fromHex(r.signature, 'sig');
    await verifyBeacon(QUICKNET, r.round, sig);
    assert.equal(toHex(await randomnessOf(sig)), r.randomness, `round ${r.round}`);
    assert.equal(toHex(await randomnessOf(sig)), createHash('sha256').update(sig).digest('hex'));
  }
  // The vectors' randomness list is the same five rounds.
  assert.deepEqual(vectors.randomness.map((r) => [r.round, r.randomness]), beacons.rounds.map((r) => [r.round, r.randomness]));
});

test('beacons: a flipped bit, 49 or 96 bytes, the identity or another round fail each real round', async () => {
  for (const r of beacons.rounds) {
    const sig = fromHex(r.signature, 'sig');
    // The sort flag (a valid point: the negated signature), the
    // compression flag, and bits in the middle and at the end.
    for (const [byte, mask] of [[0, 0x20], [0, 0x80], [20, 0x08], [47, 0x01]]) {
      const bad = sig.slice();
      bad[byte] ^= mask;
      await assert.rejects(verifyBeacon(QUICKNET, r.round, bad), /not .*quicknet's signature|not a compressed point|canonical/,
        `round ${r.round}, byte ${byte} ^ ${mask}`);
    }
    await assert.rejects(verifyBeacon(QUICKNET, r.round, Uint8Array.of(...sig, 0)), /is 49 bytes; a quicknet signature is exactly 48 bytes/);
    const uncompressed = bls12_381.G1.Point.fromBytes(sig).toBytes(false);
    assert.equal(uncompressed.length, 96);
    await assert.rejects(verifyBeacon(QUICKNET, r.round, uncompressed), /is 96 bytes; a quicknet signature is exactly 48 bytes/);
    await assert.rejects(verifyBeacon(QUICKNET, r.round + 1n, sig), /not quicknet's signature of round/);
  }
  const identity = new Uint8Array(48);
  identity[0] = 0xc0;
  await assert.rejects(verifyBeacon(QUICKNET, 1000n, identity), /identity/);
});

test('sum trees: every vector root from its leaves, and every proof walk gives the first ticket', async () => {
  assert.ok(vectors.sum_trees.length >= 5);
  for (const t of vectors.sum_trees) {
    const root = await sumRoot(t.user_ids, t.tickets);
    assert.equal(toHex(root.hash), t.root.hash);
    assert.equal(root.sum, t.root.sum);
    for (const p of t.proofs) {
      const i = Number(p.leaf_index);
      const first = await ticketInclusion({ userId: t.user_ids[i], tickets: t.tickets[i], index: p.leaf_index, size: BigInt(t.user_ids.length),
        path: p.audit_path.map((n) => ({ hash: fromHex(n.hash, 'h', 32), sum: n.sum })), root: root.hash, total: root.sum });
      assert.equal(first, p.first_ticket);
      assert.equal(first, t.tickets.slice(0, i).reduce((a, b) => a + b, 0n));
    }
  }
});

for (const d of vectors.draws) {
  const { input, output } = d;

  test(`${d.name}: commitment, entrants root, randomness, draw seed and streams`, async () => {
    const seed = fromHex(input.server_seed, 'seed', 32);
    assert.equal(toHex(await randomnessOf(seed.subarray(0, 0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(createHash('sha256').update(seed).digest('hex'), output.commitment);
    const root = await sumRoot(input.user_ids, input.tickets);
    assert.equal(toHex(root.hash), output.entrants_root.hash);
    assert.equal(root.sum, output.entrants_root.sum);
    const sig = fromHex(input.beacon ? input.beacon.signature : '', 'sig');
    assert.equal(toHex(await randomnessOf(sig)), output.randomness);
    const ds = await drawSeedV2({ serverSeed: seed, giveawayId: input.giveaway_id, entrantsRoot: root.hash, entrantsCount: BigInt(input.user_ids.length),
      totalTickets: root.sum, chainHash: fromHex(QUICKNET.hash, 'chain'), beaconRound: output.beacon_round, randomness: await randomnessOf(sig) });
    assert.equal(toHex(ds), output.draw_seed);
    const st = await SeedStream.draw(ds);
    for (const want of output.stream) assert.equal(String(await st.next()), want);
    for (const [n, rd] of output.rounds.entries()) {
      const rst = await SeedStream.redraw(ds, BigInt(n + 1), fromHex(rd.randomness, 'r', 32));
      for (const want of rd.stream) assert.equal(String(await rst.next()), want, `round ${n + 1}`);
    }
  });

  test(`${d.name}: every log entry rebuilt from the record is the logged bytes`, () => {
    const rebuilt = logEntries(parseDrawnRecordV2(output.record)).map(canonicalJSON);
    assert.deepEqual(rebuilt, output.log_entries.map((e) => e.data));
    assert.deepEqual(output.log_entries.map((e) => e.index), output.record.log.map((r) => r.index));
  });

  test(`${d.name}: the record verifies, and each proof tells its participant the right result`, async () => {
    const res = await verify(d);
    assert.deepEqual(statuses(res.checks), expected(d), stringify(res.checks));
    assert.equal(drawAssurance(res.checks), attested(d) ? VERIFIED : UNVERIFIED);
    assert.deepEqual(res.winners.map((w) => w.userId), output.current_winners.filter((w) => w.user_id !== null).map((w) => w.user_id));
    for (const p of output.proofs) {
      const me = await verifyParticipantV2(res, p.user_id, p);
      assert.equal(me.checks[0].status, 'pass', stringify(me.checks));
      assert.equal(me.tickets.held, p.tickets);
      assert.equal(me.tickets.first, p.first_ticket);
      assert.equal(me.tickets.total, output.record.total_tickets);
      if (attested(d)) {
        assert.equal(me.outcome, p.is_winner ? 'won' : 'lost', stringify(me.checks));
        assert.equal(me.position ?? 0, Number(p.position));
        assert.equal(me.assurance, VERIFIED);
        assert.equal(me.caveat, undefined);
      } else {
        // The freeze time rests on the organiser's word: no result is confirmed.
        assert.equal(me.outcome, 'unknown');
        assert.equal(me.assurance, UNVERIFIED);
        assert.equal(me.checks[1].status, 'unverified');
        assert.match(me.reasons[0], /1 check of the draw rests on someone's word \(Witnesses\)/);
      }
    }
  });

  if (output.record.entrants_count > 0n) {
    test(`${d.name}: a beacon signature with a bit flipped, 49 or 96 bytes fails the beacon`, async () => {
      for (const mutate of [
        (r) => { r.beacon_signature = flipBit(r.beacon_signature, 47, 0x01); },
        (r) => { r.beacon_signature = flipBit(r.beacon_signature, 0, 0x20); },
        (r) => { r.beacon_signature += '00'; },
        (r) => { r.beacon_signature += r.beacon_signature; },
      ]) {
        const record = clone(output.record);
        mutate(record);
        const res = await verify(d, record);
        const s = statuses(res.checks);
        assert.equal(s.beacon, 'fail', stringify(res.checks));
        assert.equal(s['draw-seed'], 'fail'); // the randomness is the signature's hash
        assert.match(detail(res, 'beacon'), /exactly 48 bytes|not quicknet's signature of round|not a compressed point/);
      }
    });

    test(`${d.name}: another ticket count fails`, async () => {
      // A current winner claiming one ticket more: without the list the
      // claim may still fit the stream, but not the winner's own proof.
      const record = clone(output.record);
      const w = output.current_winners.find((x) => x.user_id !== null) ?? output.winners[0];
      const claim = [...record.winners, ...record.replacements.flatMap((r) => r.replacements)].find((x) => x.user_id === w.user_id);
      claim.tickets += 1n;
      let res = await verify(d, record);
      const current = output.current_winners.some((x) => x.user_id === w.user_id);
      if (current) {
        assert.equal(statuses(res.checks).identities, 'fail', stringify(res.checks));
        assert.match(detail(res, 'identities'), /user \d+ is entrant index \d+ with tickets .*; the record claims index \d+ with tickets/);
      }
      if (!current) {
        // Every winner was replaced: the claim is checked by the replay alone.
        assert.equal(statuses(res.checks).winners, 'fail');
      }
      const mine = await verifyParticipantV2(res, w.user_id, output.proofs.find((q) => q.user_id === w.user_id));
      assert.equal(mine.outcome, 'unknown');

      const total = clone(output.record);
      total.total_tickets += 1n;
      res = await verify(d, total);
      assert.equal(statuses(res.checks)['draw-seed'], 'fail');
      if (current) assert.equal(statuses(res.checks).identities, 'fail');
      const someone = await verifyParticipantV2(res, output.proofs[0].user_id, output.proofs[0]);
      assert.equal(someone.checks[0].status, 'fail');
      assert.match(someone.checks[0].detail, /the proof is for \d+ tickets, the record has \d+/);

      const p = clone(output.proofs[0]);
      p.tickets += 1n;
      const me = await verifyParticipantV2(await verify(d), p.user_id, p);
      assert.equal(me.checks[0].status, 'fail');
      assert.equal(me.outcome, 'unknown');
    });

    test(`${d.name}: a beacon round other than the first at or after frozen_at + beacon_delay fails`, async () => {
      const record = clone(output.record);
      record.beacon_round += 1n;
      const res = await verify(d, record);
      assert.equal(statuses(res.checks)['beacon-round'], 'fail');
      assert.match(detail(res, 'beacon-round'), /is \d+, the record uses round \d+/);
    });
  }

  if (output.record.replacements.length > 0) {
    test(`${d.name}: a redraw round's beacon with a bit flipped fails the redraws`, async () => {
      const record = clone(output.record);
      const rd = record.replacements.at(-1);
      rd.beacon_signature = flipBit(rd.beacon_signature, 30, 0x04);
      const res = await verify(d, record);
      assert.equal(statuses(res.checks).replacements, 'fail', stringify(res.checks));
      assert.match(detail(res, 'replacements'), /round \d+: the beacon signature/);
    });
  }

  if (attested(d)) {
    test(`${d.name}: a changed log proof hash, or a freeze rewritten, fails the witnesses`, async () => {
      const path = clone(output.record);
      path.freeze_attestation.audit_path[0] = flipBit(path.freeze_attestation.audit_path[0], 5, 0x10);
      let res = await verify(d, path);
      assert.deepEqual(statuses(res.checks), { ...allPass, attestation: 'fail' });
      assert.match(detail(res, 'attestation'), /the freeze: the entry rebuilt from the record, \{.*"type":"freeze".*\}, is not in the checkpoint/);

      // Entries "closed" a second later: another freeze entry than the one logged.
      const frozen = clone(output.record);
      frozen.frozen_at = frozen.frozen_at.replace(/(\d\d)Z$/, (m, s) => `${String(Number(s) + 1).padStart(2, '0')}Z`);
      res = await verify(d, frozen);
      assert.equal(statuses(res.checks).attestation, 'fail');

      const request = clone(output.record);
      request.replacements[0].request_attestation.audit_path[0] = flipBit(request.replacements[0].request_attestation.audit_path[0], 0, 1);
      res = await verify(d, request);
      assert.equal(statuses(res.checks).attestation, 'fail');
      assert.match(detail(res, 'attestation'), /redraw round 1's request/);
    });

    test(`${d.name}: keys from the service alone are its word, other keys than the pinned fail, none skip`, async () => {
      let res = await verify(d, output.record, { pins: [] });
      assert.deepEqual(statuses(res.checks), { ...allPass, keys: 'trust' });
      assert.match(detail(res, 'keys'), /came from this service .* are not pinned in this page/);
      assert.equal(unverifiedDraw(res.checks), '1 check of the draw rests on someone\'s word (Witness keys)');
      assert.equal(drawAssurance(res.checks), SERVICE_KEYS);
      assert.deepEqual(res.facts.keys, { source: 'server', log: vectors.log_key, witnesses: vectors.witnesses, quorum: 2 });
      // Each participant reads their result, qualified: it rests on the service's keys.
      for (const p of output.proofs) {
        const me = await verifyParticipantV2(res, p.user_id, p);
        assert.equal(me.outcome, p.is_winner ? 'won' : 'lost', stringify(me.checks));
        assert.equal(me.assurance, SERVICE_KEYS);
        assert.deepEqual(me.reasons, []);
        assert.deepEqual(me.checks.map((c) => c.status), ['pass', 'trust']);
        assert.match(me.caveat, /^this rests on the log and witness keys taken from this service: compare them with the keys its organiser published/);
        assert.match(me.checks[1].detail, /; this rests on the log and witness keys taken from this service/);
      }

      res = await verify(d, output.record, { logKeys: served([...vectors.witnesses].reverse()) });
      assert.equal(statuses(res.checks).keys, 'fail');
      assert.match(detail(res, 'keys'), /serves other keys/);

      res = await verify(d, output.record, { pins: [], logKeys: new Error('HTTP 404') });
      assert.equal(statuses(res.checks).attestation, 'skip');
      assert.match(detail(res, 'attestation'), /could not be had from the service \(HTTP 404\)/);

      // A service that names only one witness cannot lower the quorum the page pins.
      res = await verify(d, output.record, { logKeys: served(vectors.witnesses.slice(1), 1n) });
      assert.equal(statuses(res.checks).keys, 'fail');
      assert.equal(statuses(res.checks).attestation, 'pass');
    });

    test(`${d.name}: a freeze_attested that disagrees with the attestation fails`, async () => {
      const record = clone(output.record);
      record.freeze_attested = false;
      const res = await verify(d, record);
      assert.equal(statuses(res.checks).attestation, 'fail');
      assert.match(detail(res, 'attestation'), /freeze_attested is false, yet/);
    });
  }
}

// cosign returns a cosignature/v1 line of a test witness over a note text
// at Unix time t, made here with Node's own SHA-256 and noble's Ed25519
// signer, and the witness's verifier key.
function testWitness(name, seedByte) {
  const secret = new Uint8Array(32).fill(seedByte);
  const pub = ed25519.getPublicKey(secret);
  const hash = createHash('sha256').update(`${name}\n`).update(Uint8Array.of(4)).update(pub).digest().subarray(0, 4);
  return {
    vkey: `${name}+${Buffer.from(hash).toString('hex')}+${Buffer.from([4, ...pub]).toString('base64')}`,
    cosign(noteText, t) {
      const ts = Buffer.alloc(8);
      ts.writeBigUInt64BE(t);
      const sig = ed25519.sign(new TextEncoder().encode(`cosignature/v1\ntime ${t}\n${noteText}`), secret);
      return `\u2014 ${name} ${Buffer.concat([hash, ts, sig]).toString('base64')}\n`;
    },
  };
}

test('witnesses: a cosignature at round time - 3 s counts, one a second later does not', async () => {
  const d = byName('n6-mixed-attested-empty-position');
  const onTime = testWitness('witness.example/on-time', 7);
  const late = testWitness('witness.example/late', 9);
  const deadline = roundTime(QUICKNET, d.output.record.beacon_round) - 3n;
  const record = clone(d.output.record);
  const [noteText, sigs] = record.freeze_attestation.checkpoint.split('\n\n');
  const logLine = sigs.split('\n')[0];
  assert.match(logLine, /^\u2014 telegive\.org\/participant-service\/draw-log /);
  record.freeze_attestation.checkpoint = `${noteText}\n\n${logLine}\n${onTime.cosign(`${noteText}\n`, deadline)}${late.cosign(`${noteText}\n`, deadline + 1n)}`;
  for (const rd of record.replacements) rd.request_attestation = null; // cosigned by the real witnesses, not these
  const pins = (quorum) => [{ verifierKey: vectors.log_key, witnesses: [onTime.vkey, late.vkey], quorum }];
  const keys = (quorum) => served([onTime.vkey, late.vkey], quorum);

  let res = await verify(d, record, { pins: pins(2), logKeys: keys(2n) });
  assert.equal(statuses(res.checks).attestation, 'fail', stringify(res.checks));
  assert.match(detail(res, 'attestation'), /the freeze: 1 of 2 witnesses cosigned by \S+ \(3 s before the beacon\), 2 must; too late: witness\.example\/late at /);

  res = await verify(d, record, { pins: pins(1), logKeys: keys(1n) });
  assert.equal(statuses(res.checks).attestation, 'trust', stringify(res.checks)); // the freeze passes; the requests are unattested
  assert.match(detail(res, 'attestation'), /witness\.example\/on-time cosigned at/);
  assert.equal(statuses(res.checks).keys, 'pass');

  // A cosignature line whose signature does not verify is not counted.
  const forged = clone(record);
  forged.freeze_attestation.checkpoint = forged.freeze_attestation.checkpoint.replace(/(witness\.example\/on-time \S{20})(\S)/, (m, a, c) => a + (c === 'A' ? 'B' : 'A'));
  res = await verify(d, forged, { pins: pins(1), logKeys: keys(1n) });
  assert.equal(statuses(res.checks).attestation, 'fail');
  assert.match(detail(res, 'attestation'), /0 of 2 witnesses cosigned/);
});

test('witnesses: a checkpoint not signed by the log key fails', async () => {
  const d = byName('n300-tickets1-attested');
  const record = clone(d.output.record);
  record.freeze_attestation.checkpoint = record.freeze_attestation.checkpoint.replace(/^(\S+\n)(\d+)/, (m, a, n) => `${a}${Number(n) + 1}`);
  const res = await verify(d, record);
  assert.equal(statuses(res.checks).attestation, 'fail');
  assert.match(detail(res, 'attestation'), /the log's signature on the checkpoint does not verify/);
});

test('participant: a loser holding a drawn ticket fails the result; an unknown id is the server\'s word', async () => {
  const d = byName('n1000-sparse-mixed-attested-redraws');
  const draw = await verify(d);
  const loser = d.output.proofs.find((p) => !p.is_winner && !draw.facts.disqualified.some((x) => x.userId === p.user_id));
  const ok = await verifyParticipantV2(draw, loser.user_id, loser);
  assert.equal(ok.outcome, 'lost');
  assert.match(ok.checks[1].detail, /none of the \d+ tickets the draw drew is among this user's/);
  assert.match(ok.checks[0].detail, new RegExp(`holds ${loser.tickets} tickets of 5,474`));
  // As if the stream had drawn one of the loser's tickets and given it to someone else.
  const hits = [...draw.replay.hits, { x: loser.first_ticket, streamIndex: 99n, round: 0, pick: null }];
  const forged = { ...draw, replay: { ...draw.replay, hits, claims: draw.replay.claims } };
  const bad = await verifyParticipantV2(forged, loser.user_id, loser);
  assert.equal(bad.checks[1].status, 'fail');
  assert.match(bad.checks[1].detail, new RegExp(`ticket ${loser.first_ticket}, drawn as stream value 99, is this user's`));
  const unknown = await verifyParticipantV2(draw, 999999999n, null);
  assert.equal(unknown.outcome, 'not-entered');
  assert.match(unknown.checks[0].detail, /this is the server's word/);
});

test('a disqualified winner is told the round and the reason', async () => {
  const d = byName('n6-mixed-attested-empty-position');
  const draw = await verify(d);
  const p = d.output.proofs.find((q) => q.user_id === 77n);
  const res = await verifyParticipantV2(draw, 77n, p);
  assert.equal(res.outcome, 'lost');
  assert.match(res.checks[1].detail, /disqualified in redraw round 1 \(fraud\)/);
  assert.deepEqual(draw.facts.disqualified.map((x) => [x.userId, x.reason, x.round]),
    [[77n, 'fraud', 1], [84n, 'not_subscribed', 2], [70n, 'declined', 2], [105n, 'not_subscribed', 2]]);
});

test('a stream index beyond what the page replays is reported as not checked, not as passed', async () => {
  const d = byName('n5-tickets1-redraw');
  const record = clone(d.output.record);
  record.winners[0].stream_index = PAGE_STREAM_VALUES;
  const res = await verify(d, record);
  assert.equal(statuses(res.checks).winners, 'skip');
  assert.match(detail(res, 'winners'), /not checked: the record needs more than 1,048,576 stream values/);
  assert.match(unverifiedDraw(res.checks), /did not run \(Winners, Redraws\)/);
});

test('a v1 record, or another giveaway\'s, is refused by the v2 reader', async () => {
  const d = byName('n1-tickets1');
  let res = await verifyDrawV2({ ...d.output.record, version: 'telegive-draw-v1' }, { giveawayId: 2n });
  assert.equal(res.checks[0].status, 'fail');
  assert.ok(res.checks.slice(1).every((c) => c.status === 'skip'));
  res = await verifyDrawV2(d.output.record, { giveawayId: 3n });
  assert.match(res.checks[0].detail, /the record is for giveaway 2, this page is for giveaway 3/);
});

test('chains: a record on a chain the page does not pin fails the chain, and nothing needing the chain passes', async () => {
  const d = byName('n300-tickets1-attested');
  const record = clone(d.output.record);
  record.chain_hash = flipBit(record.chain_hash, 0, 1);
  const res = await verify(d, record);
  const s = statuses(res.checks);
  assert.equal(s.chain, 'fail', stringify(res.checks));
  assert.match(detail(res, 'chain'), new RegExp(`the record's chain is ${record.chain_hash}, not a chain pinned in this page, which accepts quicknet \\(${QUICKNET.hash}\\) only`));
  for (const id of ['timing', 'beacon-round', 'beacon', 'attestation']) {
    assert.equal(s[id], 'skip', id);
    assert.match(detail(res, id), /not checked: the record's chain is not pinned in this page/);
  }
  assert.equal(s['draw-seed'], 'fail'); // the chain hash is bound into the seed
  assert.equal(drawAssurance(res.checks), FAILED);
  const p = d.output.proofs.find((x) => x.is_winner);
  const me = await verifyParticipantV2(res, p.user_id, p);
  assert.equal(me.outcome, 'unknown');
  assert.equal(me.assurance, FAILED);
});

test('chains: another chain is accepted once pinned, and a pin whose parameters do not give its hash is refused', async () => {
  const d = byName('n300-tickets1-attested');
  // quicknet under another name: the chain is found by its hash.
  const renamed = Object.freeze({ ...QUICKNET, name: 'quicknet-copy', network: 'a copy of quicknet' });
  let res = await verify(d, d.output.record, { chains: [renamed] });
  assert.deepEqual(statuses(res.checks), allPass, stringify(res.checks));
  assert.match(detail(res, 'chain'), /^drand's quicknet-copy beacon \(chain 52db9ba70e0cc0f6…\), pinned in this page: a copy of quicknet publishing/);
  assert.equal(res.facts.chain, 'quicknet-copy');
  // A pin that names quicknet's hash with another genesis time: pins.js was edited wrongly.
  const broken = Object.freeze({ ...QUICKNET, genesisTime: QUICKNET.genesisTime + 3n });
  await assert.rejects(pinnedChain(QUICKNET.hash, [broken]), /pinned with parameters whose chain hash is [0-9a-f]{64}, not its pinned hash/);
  res = await verify(d, d.output.record, { chains: [broken] });
  assert.equal(statuses(res.checks).chain, 'fail');
  assert.match(detail(res, 'chain'), /not its pinned hash/);
  assert.equal(statuses(res.checks).beacon, 'skip');
  const chained = Object.freeze({ ...QUICKNET, scheme: 'pedersen-bls-chained' });
  await assert.rejects(pinnedChain(QUICKNET.hash, [chained]), /pinned with the scheme pedersen-bls-chained; this page verifies bls-unchained-g1-rfc9380 only/);
});

test('log keys: the service\'s answer is read in its own shape, and one that contradicts itself is refused', () => {
  assert.deepEqual(parseLogKeys(SERVED), {
    origin: 'telegive.org/participant-service/draw-log', verifierKey: vectors.log_key, witnesses: vectors.witnesses, quorum: 2,
  });
  const bad = [
    [{ ...SERVED, origin: 'example.org/other-log' }, /the log key is named telegive\.org\/participant-service\/draw-log, not for the origin example\.org\/other-log/],
    [{ ...SERVED, witnesses: [{ ...SERVED.witnesses[0], name: 'witness.example/two' }] }, /witness 1 is named witness\.example\/two, but its key is witness\.example\/one's/],
    [{ ...SERVED, witnesses: vectors.witnesses }, /witness 1 is not an object/],
    [{ ...SERVED, quorum: 3n }, /a quorum of 3 of 2 witnesses/],
    [{ ...SERVED, quorum: undefined }, /quorum/],
  ];
  for (const [raw, want] of bad) assert.throws(() => parseLogKeys(raw), want);
});

test('log keys: a quorum of none is refused, pinned or served, since it would count no cosignature', async () => {
  const d = byName('n300-tickets1-attested');
  let res = await verify(d, d.output.record, { pins: [], logKeys: served(vectors.witnesses, 0n) });
  assert.equal(statuses(res.checks).attestation, 'fail', stringify(res.checks));
  assert.match(detail(res, 'attestation'), /a quorum of 0 of 2 witnesses: at least one must cosign/);
  res = await verify(d, d.output.record, { pins: [{ ...PINS[0], quorum: 0 }] });
  assert.equal(statuses(res.checks).attestation, 'fail');
  assert.equal(drawAssurance(res.checks), FAILED);
});

test('assurance: verified only with every check passed and the keys pinned', () => {
  const c = (id, status) => ({ id, title: id, status, detail: '' });
  assert.equal(drawAssurance([c('record', 'pass'), c('keys', 'pass'), c('log', 'info')]), VERIFIED);
  assert.equal(drawAssurance([c('record', 'pass'), c('keys', 'trust')]), SERVICE_KEYS);
  assert.equal(drawAssurance([c('record', 'pass'), c('attestation', 'trust'), c('keys', 'info')]), UNVERIFIED);
  assert.equal(drawAssurance([c('record', 'pass'), c('attestation', 'trust'), c('keys', 'trust')]), UNVERIFIED);
  assert.equal(drawAssurance([c('record', 'pass'), c('winners', 'skip'), c('keys', 'trust')]), UNVERIFIED);
  assert.equal(drawAssurance([c('record', 'fail'), c('keys', 'trust')]), FAILED);
  assert.equal(drawAssurance([c('record', 'pass'), c('keys', 'fail')]), FAILED);
});

test('assurance: with the service\'s keys and a failed check, no result is given, never a win', async () => {
  const d = byName('n1000-sparse-mixed-attested-redraws');
  const record = clone(d.output.record);
  record.beacon_signature = flipBit(record.beacon_signature, 47, 0x01);
  const res = await verify(d, record, { pins: [] });
  assert.equal(drawAssurance(res.checks), FAILED);
  for (const w of d.output.current_winners.filter((x) => x.user_id !== null)) {
    const p = d.output.proofs.find((x) => x.user_id === w.user_id);
    const me = await verifyParticipantV2(res, p.user_id, p);
    assert.equal(me.outcome, 'unknown');
    assert.equal(me.checks[1].status, 'unverified');
    assert.equal(me.caveat, undefined);
  }
});
