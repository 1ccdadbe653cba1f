import { createHmac } from "node:crypto";
import { PrivacyArgumentError } from "./errors.js";

/** HMAC-SHA256 hex with a domain label, so a record id and a patient key never share a digest. */
export function siteHmac(secret: string, label: string, value: string): string {
  return createHmac("sha256", secret).update(`${label}:${value}`).digest("hex");
}

export function assertSiteSecret(secret: string | undefined): asserts secret is string {
  if (!secret || secret.length < 16) {
    throw new PrivacyArgumentError(
      "the site secret is missing or shorter than 16 characters; set agent.privacy.siteSecret (or MEDFCL_AGENT_PRIVACY_SITE_SECRET) to a long random string and keep it at the site",
    );
  }
}
