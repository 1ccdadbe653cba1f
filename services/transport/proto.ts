import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { ProtoGrpcType as SiteProto } from "../../generated/site.js";
import type { ProtoGrpcType as AdminProto } from "../../generated/admin.js";

/** Loader options; scripts/gen-proto.mjs passes the same ones to the type generator. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const PROTO_FILES = ["medfcl/v1/common.proto", "medfcl/v1/site.proto", "medfcl/v1/admin.proto"];

/** proto/ at the package root, found from both the TS source tree and dist/. */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "proto");
    if (existsSync(join(candidate, "medfcl/v1/site.proto"))) return candidate;
    dir = dirname(dir);
  }
  return join(process.cwd(), "proto");
}

let cached: (SiteProto & AdminProto) | undefined;
let cachedDefinition: protoLoader.PackageDefinition | undefined;

export function packageDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync(PROTO_FILES, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
  return cachedDefinition;
}

/** The typed `medfcl.v1` package: service constructors for clients and definitions for servers. */
export function medfclProto(): SiteProto & AdminProto {
  cached ??= grpc.loadPackageDefinition(packageDefinition()) as unknown as SiteProto & AdminProto;
  return cached;
}
