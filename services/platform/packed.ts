/**
 * Byte strings packed for a trip between threads: one fresh buffer (transferable; not Node's
 * shared pool, whose whole slab a structured clone would copy for each small Buffer) and, per
 * part, where it ends; -1 for a part that is null.
 */
export function pack(parts: readonly (Uint8Array | null)[]): { values: Uint8Array; ends: Int32Array } {
  let total = 0;
  for (const part of parts) total += part?.length ?? 0;
  const values = new Uint8Array(new ArrayBuffer(total));
  const ends = new Int32Array(parts.length);
  let at = 0;
  parts.forEach((part, i) => {
    if (part === null) {
      ends[i] = -1;
      return;
    }
    values.set(part, at);
    at += part.length;
    ends[i] = at;
  });
  return { values, ends };
}

/** The parts `pack` joined, as Buffers over the same memory (null where `ends` says -1). */
export function unpack(values: Uint8Array, ends: Int32Array): (Buffer | null)[] {
  const parts: (Buffer | null)[] = new Array<Buffer | null>(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i += 1) {
    const end = ends[i] ?? -1;
    if (end < 0) {
      parts[i] = null;
      continue;
    }
    parts[i] = Buffer.from(values.buffer, values.byteOffset + start, end - start);
    start = end;
  }
  return parts;
}
