import test from 'ava';
import fc from 'fast-check';
import { StaleTracker } from '../../src/locks/stale-tracker.js';

const STALE = 10_000;
const HOUR = 3_600_000;
// Some wall-clock time on this host; the tracker may only use it for futureMs.
const WALL = Date.UTC(2026, 10, 25, 10, 0, 0);

test('a lock whose mtime keeps changing is never stale, even dated an hour in the past', (t) => {
  const tracker = new StaleTracker(STALE);
  // The holder's clock is an hour behind: every refresh writes an mtime an hour before our wall clock.
  for (let step = 0; step <= 200; step++) {
    const mono = step * (STALE / 2);
    const verdict = tracker.observe('a', WALL - HOUR + mono, mono, WALL + mono);
    t.false(verdict.stale, `step ${step}`);
    t.is(verdict.futureMs, 0);
  }
});

test('a lock whose mtime keeps changing is never stale, even dated an hour in the future', (t) => {
  const tracker = new StaleTracker(STALE);
  for (let step = 0; step <= 200; step++) {
    const mono = step * (STALE - 1);
    const verdict = tracker.observe('a', WALL + HOUR + mono, mono, WALL + mono);
    t.false(verdict.stale, `step ${step}`);
    t.is(verdict.futureMs, HOUR);
  }
});

test('a lock whose mtime goes backwards (holder clock set back) counts as changing', (t) => {
  const tracker = new StaleTracker(STALE);
  for (let step = 0; step <= 50; step++) {
    const mono = step * STALE;
    t.false(tracker.observe('a', WALL - step * 1000, mono, WALL).stale, `step ${step}`);
  }
});

test('a lock whose mtime stops changing is stale exactly after the stale period on the monotonic clock', (t) => {
  for (const mtime of [WALL - HOUR, WALL, WALL + HOUR, 0]) {
    const tracker = new StaleTracker(STALE);
    const start = 123_456.5;
    t.false(tracker.observe('a', mtime, start, WALL).stale);
    t.false(tracker.observe('a', mtime, start + 1, WALL).stale);
    t.false(tracker.observe('a', mtime, start + STALE - 1, WALL).stale);
    t.false(tracker.observe('a', mtime, start + STALE - 0.001, WALL).stale);
    t.true(tracker.observe('a', mtime, start + STALE, WALL).stale);
    t.true(tracker.observe('a', mtime, start + 10 * STALE, WALL).stale);
  }
});

test('the wall clock never changes the stale verdict, only futureMs', (t) => {
  const walls = [WALL, WALL - 365 * 24 * HOUR, WALL + 365 * 24 * HOUR, 0, WALL - HOUR, WALL + HOUR];
  for (const wallAtStart of walls) {
    for (const wallAtEnd of walls) {
      const tracker = new StaleTracker(STALE);
      tracker.observe('a', WALL, 0, wallAtStart);
      t.false(tracker.observe('a', WALL, STALE - 1, wallAtEnd).stale);
      t.true(tracker.observe('a', WALL, STALE, wallAtEnd).stale);
    }
  }
});

test('futureMs says how far the mtime lies ahead of the wall clock, 0 when not ahead', (t) => {
  const tracker = new StaleTracker(STALE);
  t.is(tracker.observe('a', WALL + HOUR, 0, WALL).futureMs, HOUR);
  t.is(tracker.observe('b', WALL + 1, 0, WALL).futureMs, 1);
  t.is(tracker.observe('c', WALL, 0, WALL).futureMs, 0);
  t.is(tracker.observe('d', WALL - HOUR, 0, WALL).futureMs, 0);
  // Reported on the stale verdict too, where the janitor logs it.
  const stale = tracker.observe('a', WALL + HOUR, STALE, WALL + 5_000);
  t.true(stale.stale);
  t.is(stale.futureMs, HOUR - 5_000);
});

test('locks are tracked independently', (t) => {
  const tracker = new StaleTracker(STALE);
  tracker.observe('a', WALL, 0, WALL);
  tracker.observe('b', WALL, 5_000, WALL);
  t.true(tracker.observe('a', WALL, STALE, WALL).stale);
  t.false(tracker.observe('b', WALL, STALE, WALL).stale);
  t.true(tracker.observe('b', WALL, STALE + 5_000, WALL).stale);
  t.is(tracker.size, 2);
});

test('retain() forgets released locks, so a later lock with the same id starts a fresh period', (t) => {
  const tracker = new StaleTracker(STALE);
  tracker.observe('a', WALL, 0, WALL);
  tracker.observe('b', WALL, 0, WALL);
  tracker.observe('c', WALL, 0, WALL);
  tracker.retain(new Set(['b', 'x']));
  t.is(tracker.size, 1);
  // 'a' was released and re-created with the very same mtime (second-granularity filesystem):
  // without retain() it would look unchanged for the whole period and be taken over at once.
  t.false(tracker.observe('a', WALL, 2 * STALE, WALL).stale);
  t.true(tracker.observe('a', WALL, 3 * STALE, WALL).stale);
  t.true(tracker.observe('b', WALL, 2 * STALE, WALL).stale);
  tracker.retain(new Set());
  t.is(tracker.size, 0);
});

test('forget() drops one lock', (t) => {
  const tracker = new StaleTracker(STALE);
  tracker.observe('a', WALL, 0, WALL);
  tracker.observe('b', WALL, 0, WALL);
  tracker.forget('a');
  t.is(tracker.size, 1);
  t.false(tracker.observe('a', WALL, STALE, WALL).stale);
});

test('a re-created lock (new mtime) restarts the stale period', (t) => {
  const tracker = new StaleTracker(STALE);
  tracker.observe('a', WALL, 0, WALL);
  t.false(tracker.observe('a', WALL, STALE - 1, WALL).stale);
  t.false(tracker.observe('a', WALL + 1, STALE, WALL).stale);
  t.false(tracker.observe('a', WALL + 1, 2 * STALE - 1, WALL).stale);
  t.true(tracker.observe('a', WALL + 1, 2 * STALE, WALL).stale);
});

test('property: stale iff the monotonic time since the last mtime change is at least the stale period', (t) => {
  const step = fc.record({
    advance: fc.oneof(
      fc.integer({ min: 0, max: 3 * STALE }),
      fc.constantFrom(0, 1, STALE - 1, STALE, STALE + 1),
    ),
    // 0: the mtime stays; otherwise it moves by that much (either way: clocks jump back too).
    mtimeDelta: fc.oneof(fc.constant(0), fc.integer({ min: -HOUR, max: HOUR })),
    // The host's wall clock may jump anywhere between observations.
    wallSkew: fc.integer({ min: -24 * HOUR, max: 24 * HOUR }),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 2_000, max: 60_000 }),
      fc.integer({ min: -10 * HOUR, max: 10 * HOUR }),
      fc.array(step, { maxLength: 60 }),
      (staleMs, firstMtimeOffset, steps) => {
        const tracker = new StaleTracker(staleMs);
        let mono = 1_000_000;
        let mtime = WALL + firstMtimeOffset;
        let lastChange = mono;
        const first = tracker.observe('k', mtime, mono, WALL);
        if (first.stale) return false;
        for (const s of steps) {
          mono += s.advance;
          if (s.mtimeDelta !== 0) {
            mtime += s.mtimeDelta;
            lastChange = mono;
          }
          const wall = WALL + s.wallSkew;
          const verdict = tracker.observe('k', mtime, mono, wall);
          if (verdict.stale !== mono - lastChange >= staleMs) return false;
          if (verdict.futureMs !== Math.max(0, mtime - wall)) return false;
        }
        return true;
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('a slow stat never makes a live lock stale: the unchanged time runs from an answer to the next question', (t) => {
  // The holder refreshes every STALE/2. The janitor asks, waits for the answer, asks again STALE/5
  // later. A stat is served when asked, but its answer may arrive late (a busy event loop, thread pool
  // or network filesystem): here every other answer takes `delay`. Counting from answer to answer
  // would see one mtime last STALE/2 + delay.
  const mtimeAt = (mono: number) => WALL + Math.floor(mono / (STALE / 2)) * (STALE / 2);
  for (const delay of [0, 0.3 * STALE, 0.6 * STALE, 0.9 * STALE, 2 * STALE]) {
    const tracker = new StaleTracker(STALE);
    let asked = 0;
    for (let i = 0; i < 200; i++) {
      const arrived = asked + (i % 2 === 0 ? 0 : delay);
      t.false(tracker.observe('a', mtimeAt(asked), arrived, WALL, asked).stale, `delay ${delay}, step ${i}`);
      asked = arrived + STALE / 5;
    }
  }
});

test('a lock that stops changing is still taken over when the answers are slow, a stale period after the first one', (t) => {
  const tracker = new StaleTracker(STALE);
  t.false(tracker.observe('a', WALL, 500, WALL, 0).stale);
  t.false(tracker.observe('a', WALL, STALE + 400, WALL, STALE + 499).stale);
  t.true(tracker.observe('a', WALL, STALE + 600, WALL, STALE + 500).stale);
});
