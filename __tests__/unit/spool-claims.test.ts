import { existsSync, lstatSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  currentRun,
  encodeHost,
  formatClaimName,
  formatTemporaryName,
  judgeClaim,
  type ClaimContext,
  type SpoolRun,
} from '../../src/spool/claim';
import { SPOOL_FORMAT } from '../../src/spool/mail-file';
import { createSpoolFolder, mailName, type SpoolFolder } from '../helpers/spool-folder';

const DEAD_PID = 2 ** 22 + 12345; // above Linux's largest pid, so no such process
const HOUR_MS = 60 * 60 * 1000;
const earlierRunId = 'a'.repeat(16);

/** A run of this host with our pid and thread: what a restart as pid 1 in a container looks like. */
function earlierIncarnation(): SpoolRun {
  return {
    host: encodeHost(hostname()),
    pid: process.pid,
    threadId,
    runId: earlierRunId,
    startedAtMs: Date.now() - 1000,
  };
}

describe('judgeClaim', () => {
  const self: SpoolRun = {
    host: encodeHost('this-host'),
    pid: 1,
    threadId: 0,
    runId: 'b'.repeat(16),
    startedAtMs: 1000,
  };
  const context = (overrides: Partial<ClaimContext> = {}): ClaimContext => ({
    self,
    claimedAtMs: 10_000,
    nowMs: 10_000 + 60_000,
    staleClaimMs: HOUR_MS,
    isAlive: (pid) => pid === 1 || pid === 42,
    ...overrides,
  });
  const run = (overrides: Partial<SpoolRun>): SpoolRun => ({ ...self, ...overrides });

  test.each<[string, SpoolRun | { pid: number }, Partial<ClaimContext>, string]>([
    ['our own claim', self, {}, 'own'],
    ['our own claim, however old', self, { nowMs: 10_000 + 2 * HOUR_MS }, 'own'],
    ['same host, same pid and thread, another run id: a restart', run({ runId: 'c'.repeat(16) }), {}, 'abandoned'],
    [
      'same host, same pid, another thread: maybe a live sibling',
      run({ runId: 'c'.repeat(16), threadId: 3 }),
      {},
      'live',
    ],
    ['same host, another pid that runs', run({ pid: 42, runId: 'c'.repeat(16) }), {}, 'live'],
    ['same host, another pid that ended', run({ pid: 43, runId: 'c'.repeat(16) }), {}, 'abandoned'],
    ['another host, young, whatever its pid', run({ host: encodeHost('other'), pid: 43 }), {}, 'live'],
    [
      'another host, older than staleClaimMs',
      run({ host: encodeHost('other') }),
      { nowMs: 10_001 + HOUR_MS },
      'abandoned',
    ],
    ['same host, a pid that runs, older than staleClaimMs', run({ pid: 42 }), { nowMs: 10_001 + HOUR_MS }, 'abandoned'],
    ['another host, exactly staleClaimMs old', run({ host: encodeHost('other') }), { nowMs: 10_000 + HOUR_MS }, 'live'],
    ['a pid-only claim of our pid: an earlier run of this process', { pid: 1 }, {}, 'abandoned'],
    ['a pid-only claim of a pid that runs', { pid: 42 }, {}, 'live'],
    ['a pid-only claim of a pid that ended', { pid: 43 }, {}, 'abandoned'],
  ])('%s', (_, owner, overrides, expected) => {
    expect(judgeClaim(owner, context(overrides)).kind).toBe(expected);
  });
});

describe('claims left by other runs', () => {
  let folder: SpoolFolder;
  beforeEach(() => {
    folder = createSpoolFolder();
  });
  afterEach(() => folder.remove());

  const BASE = mailName(1);
  const plantClaim = (name: string) => folder.plant(name, { subject: 'claimed', text: 't', count: 1 });

  test("a claim names this run's host, pid, thread, run id and start time", async () => {
    folder.plant(BASE, { subject: 's', text: 't', count: 1 });
    const mail = await folder.open().next();
    const run = currentRun();
    expect(basename(mail!.file)).toBe(formatClaimName(BASE, run));
    expect(run.runId).toMatch(/^[0-9a-f]{16}$/);
    expect(run).toEqual({
      host: encodeHost(hostname()),
      pid: process.pid,
      threadId,
      runId: run.runId,
      startedAtMs: Math.round(performance.timeOrigin),
    });
  });

  test('a claim of an earlier run with the same pid (a restarted container) is taken over, with a warning', async () => {
    const claim = formatClaimName(BASE, earlierIncarnation());
    plantClaim(claim);
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 'claimed' });
    expect(folder.messages()).toEqual([
      `Took over "${claim}" in \`spoolDir\` ${folder.dir}: a claim of another run that ended (pid ${process.pid} is this process, started again)`,
    ]);
    expect(folder.codes()).toEqual(['ESPOOL']);
    expect(readdirSync(folder.dir)).toEqual([formatClaimName(BASE, currentRun())]);
  });

  test('a claim named by pid only, as earlier versions wrote it, with our pid is taken over', async () => {
    plantClaim(`${BASE}.sending-${process.pid}`);
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 'claimed' });
    expect(folder.messages()).toEqual([expect.stringMatching(/^Took over ".*\.sending-\d+" .*started again\)$/)]);
  });

  test('a claim of a process of this host that ended is taken over', async () => {
    const claim = formatClaimName(BASE, { ...earlierIncarnation(), pid: DEAD_PID });
    plantClaim(claim);
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 'claimed' });
    expect(folder.messages()).toEqual([expect.stringContaining(`(pid ${DEAD_PID} no longer runs on this host)`)]);
  });

  test('a claim of a live process of this host, or of another host, is left alone while young', async () => {
    const live = formatClaimName(mailName(1), { ...earlierIncarnation(), pid: process.ppid });
    const remote = formatClaimName(mailName(2), {
      ...earlierIncarnation(),
      host: encodeHost(`not-${hostname()}`),
      pid: DEAD_PID,
    });
    plantClaim(live);
    plantClaim(remote);
    await expect(folder.open().next()).resolves.toBeUndefined();
    expect(readdirSync(folder.dir).sort()).toEqual([live, remote]);
    expect(folder.warnings).toEqual([]);
  });

  test('a claim older than `staleClaimMs` is taken over whatever its host', async () => {
    const remote = formatClaimName(BASE, { ...earlierIncarnation(), host: encodeHost(`not-${hostname()}`) });
    plantClaim(remote);
    const spool = folder.open({ staleClaimMs: HOUR_MS, now: () => Date.now() + 2 * HOUR_MS });
    await expect(spool.next()).resolves.toMatchObject({ subject: 'claimed' });
    expect(folder.messages()).toEqual([
      expect.stringMatching(/claimed \d+ ms ago, more than `staleClaimMs` \(3600000 ms\)\)$/),
    ]);
  });

  test('a claim of this run is not taken by another spool of the same run', async () => {
    folder.plant(BASE, { subject: 's', text: 't', count: 1 });
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 's' });
    await expect(folder.open().next()).resolves.toBeUndefined();
    expect(folder.warnings).toEqual([]);
  });

  test('temporary files of runs that ended are removed; those of live runs stay', async () => {
    const half = '{"format":';
    const dead = formatTemporaryName(mailName(1), { ...earlierIncarnation(), pid: DEAD_PID }, '0'.repeat(32));
    const restarted = formatTemporaryName(mailName(2), earlierIncarnation(), '1'.repeat(32));
    const legacy = `${mailName(3)}.tmp-${DEAD_PID}`;
    const live = formatTemporaryName(mailName(4), { ...earlierIncarnation(), pid: process.ppid }, '2'.repeat(32));
    const remote = formatTemporaryName(
      mailName(5),
      { ...earlierIncarnation(), host: encodeHost('elsewhere') },
      '3'.repeat(32),
    );
    for (const name of [dead, restarted, legacy, live, remote]) writeFileSync(join(folder.dir, name), half);

    await expect(folder.open().next()).resolves.toBeUndefined();
    expect(readdirSync(folder.dir).sort()).toEqual([live, remote].sort());
    expect(folder.messages().sort()).toEqual(
      [dead, restarted, legacy].map((name) => expect.stringContaining(`Removed "${name}"`) as unknown).sort(),
    );
    expect(existsSync(join(folder.dir, live))).toBe(true);
  });

  test('something else under the name of a temporary file of a run that ended is left alone', async () => {
    const name = formatTemporaryName(mailName(1), { ...earlierIncarnation(), pid: DEAD_PID }, '5'.repeat(32));
    symlinkSync('/etc/hostname', join(folder.dir, name));
    await expect(folder.open().next()).resolves.toBeUndefined();
    expect(lstatSync(join(folder.dir, name)).isSymbolicLink()).toBe(true);
    expect(folder.messages()).toEqual([
      `Skipped "${name}" in \`spoolDir\` ${folder.dir}: not a file this user wrote; left alone`,
    ]);
  });

  test('a mail file is whole before it has its name: no temporary file is ever read as a mail', async () => {
    const temporary = formatTemporaryName(BASE, { ...earlierIncarnation(), pid: process.ppid }, '4'.repeat(32));
    writeFileSync(
      join(folder.dir, temporary),
      JSON.stringify({ format: SPOOL_FORMAT, subject: 's', text: 't', count: 1 }),
    );
    await expect(folder.open().next()).resolves.toBeUndefined();
    expect(readdirSync(folder.dir)).toEqual([temporary]);
  });
});
