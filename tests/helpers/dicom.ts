/** Byte-level DICOM elements for tests that build files a writer would refuse to produce. */

/** Explicit VR little endian: tag, VR, then a 2-byte length, or 2 reserved bytes and a 4-byte length for the long VRs. */
export function explicitElement(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = ["OB", "OW", "OF", "SQ", "UT", "UN"].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, "latin1");
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

/** Implicit VR little endian: tag and a 4-byte length, as inside a UN value (PS3.5 6.2.2). */
export function implicitElement(group: number, elem: number, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.writeUInt32LE(value.length, 4);
  return Buffer.concat([head, value]);
}
