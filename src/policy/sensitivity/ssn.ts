/**
 * US Social Security Number validity (SSA rules): area not 000, 666 or 900–999; group
 * not 00; serial not 0000. Anything else is a number that was never issued, which keeps
 * dates and ids that merely look like `ddd-dd-dddd` out.
 *
 * @example
 * ```ts
 * isValidSsn('219', '09', '9999'); // true
 * isValidSsn('666', '12', '3456'); // false
 * ```
 */
export function isValidSsn(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area.startsWith('9')) return false;
  if (group === '00') return false;
  if (serial === '0000') return false;
  return true;
}
