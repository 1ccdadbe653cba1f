import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from "grpc-health-check";
import { packageDefinition } from "../../services/transport/index.js";

/** Services the coordinator reports in grpc.health.v1; "" is the whole server, as the protocol asks. */
export const HEALTH_SERVICE_NAMES = ["", "medfcl.v1.SiteService", "medfcl.v1.AdminService"] as const;

export const HEALTH_SERVICE = "grpc.health.v1.Health";

/**
 * The standard gRPC services that tools speak without medfcl's protos: grpc.health.v1 (Kubernetes
 * gRPC probes, load balancers, grpc-health-probe) and server reflection (grpcurl, Postman).
 * One health state is shared by every server it is added to, so the plaintext probe port and the
 * mTLS port answer alike.
 */
export interface StandardServices {
  /** Registers grpc.health.v1.Health and, when asked, reflection v1 and v1alpha. */
  addTo(server: Pick<grpc.Server, "addService">, options: { reflection: boolean }): void;
  setStatus(status: ServingStatus): void;
  /** One service's status (e.g. SiteService while the state dir refuses writes). */
  setServiceStatus(service: (typeof HEALTH_SERVICE_NAMES)[number], status: ServingStatus): void;
}

export function createStandardServices(): StandardServices {
  const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICE_NAMES.map((s) => [s, "SERVING" as ServingStatus])));
  let reflection: ReflectionService | undefined;
  return {
    addTo(server, options) {
      health.addToServer(server);
      if (options.reflection) {
        // Reflection describes medfcl.v1 and the health service itself, so a generic client can
        // list and call both from the descriptors alone.
        reflection ??= new ReflectionService({ ...packageDefinition(), ...protoLoader.loadSync(healthProtoPath) });
        reflection.addToServer(server);
      }
    },
    setStatus(status) {
      for (const s of HEALTH_SERVICE_NAMES) health.setStatus(s, status);
    },
    setServiceStatus(service, status) {
      health.setStatus(service, status);
    },
  };
}
