import { it } from "node:test";

// The one place that decides whether the tests run in CI, and what a test that depends on the
// environment (a daemon, a binary, files outside the repository) does when that is missing:
// locally it skips with a message that says how to get it; under CI=true it fails, because .ci/run
// provides everything and a skip there would hide a broken job.

/** True under CI: `CI` set to anything but "", "0" or "false" (GitHub, GitLab and .ci/run set CI=true). */
export function inCi(): boolean {
  const v = process.env.CI?.trim().toLowerCase();
  return v !== undefined && v !== "" && v !== "0" && v !== "false";
}

/**
 * Whether a missing requirement must fail: always under CI, and locally when its own switch is set
 * (`MEDFCL_REQUIRE_DOCKER=1` and the like, to check a machine that is meant to have it).
 */
export function required(requireVar?: string): boolean {
  return inCi() || (requireVar !== undefined && process.env[requireVar] === "1");
}

/** The error a missing requirement raises where it is required. */
export class MissingRequirementError extends Error {
  constructor(what: string, missing: string) {
    super(`${what} is required here (${inCi() ? "CI=true" : "its MEDFCL_REQUIRE_* switch is set"}) but ${missing}`);
    this.name = "MissingRequirementError";
  }
}

/**
 * For `describe(name, { skip: skipUnless(...) })` or the same on `it`. `missing`: false when the
 * environment has what the tests need, else what is missing and how to get it. Returns false (run
 * them) or a skip message. Where the requirement is required (CI), the tests still skip, so they do
 * not fail obscurely on what is not there, and one test named "<what> - required here" is
 * registered that fails with the reason.
 */
export function skipUnless(what: string, missing: string | false, requireVar?: string): string | false {
  if (missing === false) return false;
  if (required(requireVar)) {
    it(`${what} - required here`, () => {
      throw new MissingRequirementError(what, missing);
    });
    return `${what}: required here but missing (see the failing "${what} - required here" test)`;
  }
  return `${what} skipped: ${missing}`;
}
