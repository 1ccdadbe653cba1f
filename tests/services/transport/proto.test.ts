import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import protobuf from "protobufjs";
import { packageDefinition, PROTO_FILES, protoRoot } from "../../../services/transport/index.js";

type Sample = Record<string, unknown>;

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => `${protoRoot()}/${target}`;
root.loadSync(PROTO_FILES, { keepCase: true });
root.resolveAll();
const pkg = root.lookup("medfcl.v1") as protobuf.Namespace;
const messageTypes = pkg.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);

/** A value of the field's type that differs from the proto3 default, so a dropped field is noticed. */
function scalarSample(type: string, seed: number): unknown {
  switch (type) {
    case "string":
      return `v${seed}-é`;
    case "bytes":
      return Buffer.from([0, 1, 2, 255, seed & 0xff]);
    case "bool":
      return true;
    case "double":
      return 0.5 + seed;
    case "float":
      return 1.5 + seed;
    case "int32":
    case "sint32":
    case "sfixed32":
      return -7 - seed;
    case "uint32":
    case "fixed32":
      return 7 + seed;
    case "int64":
    case "sint64":
    case "sfixed64":
      return 2 ** 40 + seed; // above 2^32 to catch 32-bit truncation
    case "uint64":
    case "fixed64":
      return 2 ** 41 + seed;
    default:
      throw new Error(`unhandled scalar ${type}`);
  }
}

/** The oneof protobufjs makes for a proto3 `optional` field (`_name`): presence, not a choice. */
function isSyntheticOneof(o: protobuf.OneOf): boolean {
  return o.fieldsArray.length === 1 && o.name === `_${o.fieldsArray[0].name}`;
}

/** Drops the loader's virtual `_field: "field"` presence keys (oneofs: true), at every depth. */
function withoutPresenceKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutPresenceKeys);
  if (!v || typeof v !== "object" || Buffer.isBuffer(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !(k.startsWith("_") && x === k.slice(1))).map(([k, x]) => [k, withoutPresenceKeys(x)]));
}

/** One sample per oneof member (or one sample when there is no oneof), every other field filled (`optional` ones too). */
function samples(type: protobuf.Type, depth = 0): Sample[] {
  const oneofMembers = type.oneofsArray.filter((o) => !isSyntheticOneof(o)).flatMap((o) => o.fieldsArray.map((f) => f.name));
  const variants = oneofMembers.length ? oneofMembers.map((m) => [m]) : [[]];
  return variants.map((chosen) => {
    const obj: Sample = {};
    type.fieldsArray.forEach((f, i) => {
      if (f.partOf && !isSyntheticOneof(f.partOf) && !chosen.includes(f.name)) return;
      const value = (): unknown => {
        if (f.resolvedType instanceof protobuf.Type) return depth > 4 ? {} : samples(f.resolvedType, depth + 1)[0];
        if (f.resolvedType instanceof protobuf.Enum) return Object.keys(f.resolvedType.values)[1];
        return scalarSample(f.type, i);
      };
      if (f.map) obj[f.name] = { k1: value(), k2: value() };
      else if (f.repeated) obj[f.name] = [value(), value()];
      else obj[f.name] = value();
    });
    return obj;
  });
}

describe("proto", () => {
  it("proto - the package has the v1 services and every message type", () => {
    const names = messageTypes.map((t) => t.name);
    for (const n of ["RegisterRequest", "TrainTask", "ModelChunk", "PushUpdateMessage", "ExemplarMessage", "Audit", "CreateRunRequest"]) {
      assert.ok(names.includes(n), `missing ${n}`);
    }
    const def = packageDefinition();
    for (const rpc of ["Register", "Heartbeat", "NextTask", "PullModel", "PushUpdate", "PullExemplars", "PushExemplars", "ReportMetrics"]) {
      assert.ok(rpc in (def["medfcl.v1.SiteService"] as object), `SiteService.${rpc}`);
    }
    for (const rpc of ["CreateRun", "GetRun", "ListRuns", "GetAudit"]) assert.ok(rpc in (def["medfcl.v1.AdminService"] as object), `AdminService.${rpc}`);
  });

  for (const type of messageTypes) {
    it(`proto - ${type.name} round-trips with every field set`, () => {
      for (const sample of samples(type)) {
        // Enums are given by name (as the loader's enums: String gives them); fromObject maps them to numbers.
        const message = type.fromObject(sample);
        const err = type.verify(message);
        assert.equal(err, null, `${type.name} sample invalid: ${err}`);
        const bytes = type.encode(message).finish();
        const back = type.toObject(type.decode(bytes), { longs: Number, enums: String, bytes: Buffer, defaults: false, oneofs: false });
        assert.deepEqual(back, sample);
      }
    });
  }

  it("proto - every RPC's request and response survive the loader's own serializers", () => {
    const def = packageDefinition();
    let checked = 0;
    for (const service of ["medfcl.v1.SiteService", "medfcl.v1.AdminService"]) {
      const methods = def[service] as Record<string, {
        requestSerialize: (v: unknown) => Buffer; requestDeserialize: (b: Buffer) => unknown;
        responseSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown;
        requestType: { type: { name: string } }; responseType: { type: { name: string } };
      }>;
      for (const [rpc, m] of Object.entries(methods)) {
        for (const [ser, de, typeName] of [
          [m.requestSerialize, m.requestDeserialize, m.requestType.type.name],
          [m.responseSerialize, m.responseDeserialize, m.responseType.type.name],
        ] as const) {
          const type = root.lookupType(`medfcl.v1.${typeName}`);
          for (const sample of samples(type)) {
            const back = withoutPresenceKeys(de(ser(sample))) as Sample;
            // The loader uses defaults: true and virtual oneof fields, so compare field by field.
            for (const [k, v] of Object.entries(sample)) assert.deepEqual(back[k], v, `${rpc} ${typeName}.${k}`);
            checked++;
          }
        }
      }
    }
    assert.ok(checked >= 24);
  });
});
