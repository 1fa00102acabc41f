import type { ValueLimits } from './index';

/**
 * Absolute limits as a user writes them: `temperature=40:80,humidity=:95` (low and high, either may
 * be left out). Throws an error naming the part that is not of that form.
 */
export function parseValueLimits(text: string): Record<string, ValueLimits> {
  const limits: Record<string, ValueLimits> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const match = /^\s*([^=\s]+)\s*=\s*([^:]*?)\s*:\s*([^:]*?)\s*$/.exec(part);
    const low = match?.[2] ? Number(match[2]) : undefined;
    const high = match?.[3] ? Number(match[3]) : undefined;
    if (
      !match ||
      (low === undefined && high === undefined) ||
      (low !== undefined && !Number.isFinite(low)) ||
      (high !== undefined && !Number.isFinite(high)) ||
      (low !== undefined && high !== undefined && low > high)
    ) {
      throw new Error(`"${part.trim()}" is not FEATURE=LOW:HIGH (either may be left out, LOW <= HIGH)`);
    }
    limits[match[1]] = { ...(low === undefined ? {} : { low }), ...(high === undefined ? {} : { high }) };
  }
  return limits;
}
