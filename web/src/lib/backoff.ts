/** Reconnect delays: exponential from BASE_MS to CAP_MS, jittered so that a server restart is
 *  not met by every client at the same instant. Pure: the random number is passed in. */

export const BASE_MS = 500;
export const CAP_MS = 15_000;

/** The wait before connection attempt `attempt` (0: the first retry), between half and all of
 *  the exponential step. */
export function reconnectDelay(attempt: number, random: number): number {
  const step = Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempt, 20));
  return Math.round(step / 2 + (step / 2) * random);
}
