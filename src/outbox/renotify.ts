import { setMostRecent } from '../recent-map';

/** When an entry of the trigger level may send a mail at once, and when its repeats are due. */
export interface RenotifyPolicy {
  /** How long the repeats of a problem that just sent a mail wait for the next one, in milliseconds. */
  delayMs: number;
  /** The longest the wait grows to while the problem keeps repeating, in milliseconds. */
  maxDelayMs: number;
}

/** What to do with an entry that would send a mail at once. */
export type RenotifyDecision =
  /** Send now: the first of its kind, or the first after a quiet period. */
  | { readonly send: true }
  /** A repeat: it waits in the buffer until `dueAt` at the latest, and is counted there. */
  | { readonly send: false; readonly dueAt: number };

interface Window {
  /** When the repeats seen in this window are due as one mail. */
  endsAt: number;
  delayMs: number;
  repeated: boolean;
}

// Problems remembered at most; beyond, the least recently seen is forgotten and may mail again.
const MAX_TRACKED = 1000;

/**
 * Re-notification, per fingerprint: the first entry of a problem mails at once; its repeats wait
 * for a window that starts at `delayMs`, doubles up to `maxDelayMs` for as long as the problem
 * keeps repeating, and closes after a window without a repeat. Pure: the caller passes the time.
 */
export class Renotify {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly policy: RenotifyPolicy) {}

  /** Decides for an entry of the problem `fingerprint` logged at `now`. */
  offer(fingerprint: string, now: number): RenotifyDecision {
    const window = this.roll(fingerprint, now);
    if (window !== undefined) {
      window.repeated = true;
      // Seen again: remembered as recent.
      setMostRecent(this.windows, fingerprint, window, MAX_TRACKED);
      return { send: false, dueAt: window.endsAt };
    }
    setMostRecent(
      this.windows,
      fingerprint,
      { endsAt: now + this.policy.delayMs, delayMs: this.policy.delayMs, repeated: false },
      MAX_TRACKED,
    );
    return { send: true };
  }

  /** The number of problems whose repeats are held back now. */
  get tracked(): number {
    return this.windows.size;
  }

  /**
   * The window open at `now`: a window whose time is up is followed by a longer one when the
   * problem repeated in it (its repeats went out as one mail when it ended), and closes otherwise.
   */
  private roll(fingerprint: string, now: number): Window | undefined {
    const window = this.windows.get(fingerprint);
    if (window === undefined) return undefined;
    while (now >= window.endsAt) {
      if (!window.repeated) {
        this.windows.delete(fingerprint);
        return undefined;
      }
      window.delayMs = Math.min(window.delayMs * 2, this.policy.maxDelayMs);
      window.endsAt += window.delayMs;
      window.repeated = false;
    }
    return window;
  }
}
