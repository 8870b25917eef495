// Numbers and times for people: bytes in binary units (as the exporter's CLI writes them),
// rates in bit/s, times in the UI's language.
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const BIT_UNITS = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];

function scaled(value, base, units) {
  let i = 0;
  while (Math.abs(value) >= base && i < units.length - 1) {
    value /= base;
    i += 1;
  }
  const digits = i === 0 ? 0 : value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ${units[i]}`;
}

/** e.g. `1.50 GiB`. */
export const bytes = (n) => scaled(Number(n) || 0, 1024, BYTE_UNITS);

/** A rate in bytes per second, written in bits per second, e.g. `100 Mbit/s`. */
export const rate = (bytesPerSecond) => scaled((Number(bytesPerSecond) || 0) * 8, 1000, BIT_UNITS);

/** Epoch milliseconds as a local date and time. */
export function time(ms, locale) {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A percentage with one decimal. */
export const percent = (p) => `${(Number(p) || 0).toFixed(1)} %`;
