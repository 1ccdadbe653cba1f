// The standard gRPC services, spoken by a generic client that knows none of medfcl's protos: it
// loads only the public grpc.reflection.v1 and grpc.health.v1 definitions (as grpcurl does), lists
// the services, rebuilds a service's methods from the descriptors the server returns, and checks health.
import { strict as assert } from "node:assert";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import type { RunningCoordinator } from "../../coordinator/index.js";
import { startTestCoordinator } from "../helpers/federation.js";

const require = createRequire(import.meta.url);
const reflectionProto = join(dirname(require.resolve("@grpc/reflection/package.json")), "build/proto/grpc/reflection/v1/reflection.proto");
const healthProto = join(dirname(require.resolve("grpc-health-check/package.json")), "proto/health/v1/health.proto");

type Ctor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client;
function clientCtor(file: string, name: string): Ctor {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }));
  let node: unknown = pkg;
  for (const part of name.split(".")) node = (node as Record<string, unknown>)[part];
  return node as Ctor;
}

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/** One request on the bidirectional ServerReflectionInfo stream. */
function reflect(address: string, request: Record<string, unknown>): Promise<ReflectionResponse> {
  const Reflection = clientCtor(reflectionProto, "grpc.reflection.v1.ServerReflection");
  const client = new Reflection(address, grpc.credentials.createInsecure()) as grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, ReflectionResponse> };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on("data", (res: ReflectionResponse) => {
      resolve(res);
      call.end();
    });
    call.on("error", (err) => reject(err));
    call.on("end", () => client.close());
    call.write({ host: "", ...request });
  });
}

function healthCheck(address: string, service: string): Promise<{ status: string }> {
  const Health = clientCtor(healthProto, "grpc.health.v1.Health");
  const client = new Health(address, grpc.credentials.createInsecure()) as grpc.Client & {
    Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.Check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    }),
  );
}

describe("standard gRPC services", () => {
  let coord: RunningCoordinator;
  before(async () => {
    coord = await startTestCoordinator({ healthListen: "127.0.0.1:0" });
  });
  after(async () => {
    await coord?.close();
  });

  it("standard-services - reflection lists medfcl.v1.SiteService, AdminService and the health service", async () => {
    const res = await reflect(coord.address, { list_services: "" });
    const names = res.list_services_response?.service.map((s) => s.name) ?? [];
    for (const s of ["medfcl.v1.SiteService", "medfcl.v1.AdminService", "grpc.health.v1.Health"]) assert.ok(names.includes(s), `${s} in ${names.join(", ")}`);
  });

  it("standard-services - reflection returns descriptors from which a generic client rebuilds SiteService's methods", async () => {
    const res = await reflect(coord.address, { file_containing_symbol: "medfcl.v1.SiteService" });
    const files = res.file_descriptor_response?.file_descriptor_proto ?? [];
    assert.ok(files.length > 0, JSON.stringify(res.error_response));
    const set = descriptor.FileDescriptorSet.fromObject({ file: files.map((b) => descriptor.FileDescriptorProto.decode(b)) });
    const root = (protobuf.Root as unknown as { fromDescriptor(d: unknown): protobuf.Root }).fromDescriptor(set);
    const site = root.lookupService("medfcl.v1.SiteService");
    for (const m of ["Register", "Heartbeat", "NextTask", "PullModel", "PushUpdate"]) assert.ok(site.methods[m], `method ${m}`);
    assert.equal(site.methods.PullModel.responseStream, true);
    assert.ok(root.lookupType("medfcl.v1.HeartbeatRequest").fields.progress, "HeartbeatRequest.progress resolves");
  });

  it("standard-services - health Check answers SERVING for the server and for each medfcl service", async () => {
    for (const service of ["", "medfcl.v1.SiteService", "medfcl.v1.AdminService"]) {
      assert.equal((await healthCheck(coord.address, service)).status, "SERVING", `service "${service}"`);
    }
    await assert.rejects(healthCheck(coord.address, "medfcl.v1.NoSuchService"), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  });

  it("standard-services - a Watch stream sees NOT_SERVING at shutdown and does not hold the coordinator open", async () => {
    const other = await startTestCoordinator();
    const Health = clientCtor(healthProto, "grpc.health.v1.Health");
    const client = new Health(other.address, grpc.credentials.createInsecure()) as grpc.Client & { Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }> };
    const seen: string[] = [];
    const call = client.Watch({ service: "" });
    call.on("data", (m: { status: string }) => seen.push(m.status));
    call.on("error", () => undefined);
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await other.close();
    assert.ok(Date.now() - started < 8000, `close took ${Date.now() - started} ms`);
    assert.deepEqual(seen.slice(0, 2), ["SERVING", "NOT_SERVING"]);
    client.close();
  });

  it("standard-services - the plaintext health port answers SERVING and serves nothing else", async () => {
    assert.ok(coord.healthAddress);
    assert.equal((await healthCheck(coord.healthAddress, "")).status, "SERVING");
    await assert.rejects(reflect(coord.healthAddress, { list_services: "" }), (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED);
  });
});
