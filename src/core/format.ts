/**
 * Human-readable numbers, shared by the terminal and the dashboard page
 * (pure: no Node.js APIs, so the page bundle can import it).
 */

/** Hashes per second with an SI unit: "3.97 MH/s", "512 kH/s". */
export const formatRate = (hashesPerSecond: number): string => {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s'];
  let v = hashesPerSecond;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 2)} ${units[i]}`;
};

export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** A duration for ETAs: "met", "42 s", "3.5 min", "2.1 h"; null → "-". */
export const formatEta = (seconds: number | null): string =>
  seconds === null ? '-' : seconds === 0 ? 'met' : seconds < 90 ? `${seconds.toFixed(0)} s` : seconds < 5400 ? `${(seconds / 60).toFixed(1)} min` : `${(seconds / 3600).toFixed(1)} h`;
