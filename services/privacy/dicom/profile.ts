/**
 * The Basic Application Level Confidentiality Profile as data: tag -> action, and the choice the
 * profile makes for the combined codes when the IOD is not known.
 */
import { BASIC_PROFILE_GROUP_MASKS, BASIC_PROFILE_TABLE } from "./profile-table.js";

/** The action codes of PS3.15 Table E.1-1. */
export type ProfileAction = "D" | "Z" | "X" | "K" | "C" | "U" | "Z/D" | "X/Z" | "X/D" | "X/Z/D" | "X/Z/U*";
/** What is actually done to an element once a combined code is resolved. `U*` keeps a sequence and remaps the UIDs inside it. */
export type ResolvedAction = "D" | "Z" | "X" | "K" | "C" | "U" | "U*";

export interface ProfileEntry {
  tag: string;
  action: ProfileAction;
  name: string;
}

let table: Map<string, ProfileEntry> | null = null;

/** Tag keys are 8 upper-case hex digits, "00100010", as dcmjs spells them. */
export function basicProfileTable(): Map<string, ProfileEntry> {
  if (table) return table;
  table = new Map();
  for (const line of BASIC_PROFILE_TABLE.split("\n")) {
    const m = /^([0-9A-F]{4}),([0-9A-F]{4}) (\S+) (.+)$/.exec(line.trim());
    if (!m) continue;
    const tag = `${m[1]}${m[2]}`;
    table.set(tag, { tag, action: m[3] as ProfileAction, name: m[4] });
  }
  return table;
}

/**
 * The profile's rule for combined codes is "the first code unless the IOD requires the next one"
 * (Type 3 vs 2 vs 1). medfcl never needs the de-identified object to stay IOD-conformant (only
 * rendered pixels leave a site), so it takes the first, most removing choice: X/… -> X, Z/D -> Z.
 * `preferConformance` takes the least removing choice instead (X/Z -> Z, X/D and X/Z/D -> D,
 * X/Z/U* -> U*, Z/D -> D) for sites that keep the de-identified DICOM for other tools.
 */
export function resolveAction(action: ProfileAction, preferConformance = false): ResolvedAction {
  if (!preferConformance) {
    switch (action) {
      case "Z/D":
        return "Z";
      case "X/Z":
      case "X/D":
      case "X/Z/D":
      case "X/Z/U*":
        return "X";
      default:
        return action;
    }
  }
  switch (action) {
    case "Z/D":
    case "X/D":
    case "X/Z/D":
      return "D";
    case "X/Z":
      return "Z";
    case "X/Z/U*":
      return "U*";
    default:
      return action;
  }
}

/** The profile entry for a tag, including the repeating-group masks (curves, overlay data). */
export function profileEntryFor(tag: string): ProfileEntry | undefined {
  const hit = basicProfileTable().get(tag);
  if (hit) return hit;
  const group = parseInt(tag.slice(0, 4), 16);
  const element = parseInt(tag.slice(4), 16);
  for (const m of BASIC_PROFILE_GROUP_MASKS) {
    if ((group & m.groupMask) === m.group && (element & m.elementMask) === m.element) return { tag, action: m.action, name: m.name };
  }
  return undefined;
}

export function formatTag(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}
