import { z } from "zod";
// The options module only (no image codecs), so loading a config stays cheap.
import { exemplarPipelineOptionsSchema } from "../privacy/options.js";

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "expected host:port, e.g. 127.0.0.1:7443");

export const tlsSchema = z
  .object({
    /** CA certificate (PEM) that signed every site and the coordinator. */
    ca: z.string().min(1).optional(),
    /** This process's certificate (PEM). */
    cert: z.string().min(1).optional(),
    /** This process's private key (PEM). */
    key: z.string().min(1).optional(),
  })
  .strict();

export const logSchema = z
  .object({
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    pretty: z.boolean().optional(),
  })
  .strict();

export const coordinatorSchema = z
  .object({
    /** gRPC listen address for agents and admins. */
    listen: hostPort.default("127.0.0.1:7443"),
    /** HTTP address for the dashboard, /metrics and /healthz. */
    httpListen: hostPort.default("127.0.0.1:8080"),
    /**
     * Plaintext gRPC address that serves only grpc.health.v1, for Kubernetes gRPC probes and load
     * balancers, which cannot present a client certificate. Off when absent; the main port serves
     * health (and reflection) too, behind mTLS.
     */
    healthListen: hostPort.optional(),
    /**
     * Bearer token for the dashboard, its event stream and its JSON (`Authorization: Bearer <token>`,
     * or open `/?token=<token>` once in a browser, which sets an HttpOnly cookie). Without it the
     * dashboard is off (403). /healthz is always open. Pass it by env or a secret, not on a command line.
     */
    dashboardToken: z.string().min(16, "use at least 16 characters (e.g. `openssl rand -hex 24`)").optional(),
    /** Whether /metrics needs the dashboard token ("token") or is open to whoever reaches the port ("open", for Prometheus). */
    metricsAuth: z.enum(["open", "token"]).default("open"),
    /** SQLite file and blob store live here. */
    stateDir: z.string().min(1).default("./coordinator-state"),
    /** NATS server URL; events go only to the log and SQLite without it. */
    nats: z.string().url().optional(),
    tls: tlsSchema.default({}),
    /** Plaintext gRPC. Only for local experiments; agents are then identified by their claim. */
    insecure: z.boolean().default(false),
    /**
     * Weights file of the pretrained base (e.g. yolox_nano.onnx) for runs whose model is one; checked
     * against its pinned sha256. Unset: $MEDFCL_BASE_WEIGHTS, else the cache (`medfcl model fetch`).
     */
    baseWeights: z.string().min(1).optional(),
    /** Central test sets: domain name -> COCO folder (annotations.json + images/). */
    evalSets: z.record(z.string().min(1), z.string().min(1)).default({}),
    /**
     * With `nats`, central evaluation runs as jobs on a JetStream work queue. "in-process": the
     * coordinator is one of the queue's workers (so a setup without any `medfcl eval-worker` still
     * evaluates); "external": only `medfcl eval-worker` processes evaluate. Ignored without NATS.
     */
    evalWorkers: z.enum(["in-process", "external"]).default("in-process"),
    /**
     * The evaluation queue's consumer: a job not acknowledged within ackWaitMs is redelivered (a
     * worker sends in-progress acks while it evaluates); after maxDeliver deliveries the cell is
     * reported as failed with the reason.
     */
    evalQueue: z
      .object({
        ackWaitMs: z.number().int().min(1000).default(30_000),
        maxDeliver: z.number().int().min(1).max(100).default(5),
      })
      .strict()
      .default({}),
    heartbeatIntervalMs: z.number().int().positive().default(5000),
    /** A site missing this many heartbeat intervals is considered gone. */
    heartbeatMisses: z.number().int().positive().default(6),
    taskDeadlineMs: z.number().int().positive().default(30 * 60 * 1000),
    /** Updates whose L2 norm exceeds this are rejected before aggregation. */
    updateNormBound: z.number().positive().default(1e4),
    /**
     * Free bytes the state dir's filesystem must keep. Below it (or after any write fails for lack
     * of space) the coordinator refuses uploads and run creation with RESOURCE_EXHAUSTED, keeps
     * serving reads, heartbeats and the dashboard, and resumes by itself once there is room again
     * (etcd's NOSPACE alarm; Kafka and PostgreSQL stop writing before the disk is full). 0 turns the
     * watermark off; failed writes still count.
     */
    minFreeBytes: z.number().int().nonnegative().default(256 * 1024 * 1024),
    /** How often free space is checked (and, while writes are refused, a probe write is tried). */
    storageCheckMs: z.number().int().positive().default(2000),
    /** gRPC message and chunk sizes (DESIGN.md: 256 KiB–1 MiB chunks). */
    chunkBytes: z.number().int().min(16 * 1024).max(4 * 1024 * 1024).default(1024 * 1024),
    /**
     * What the coordinator accepts as an exemplar: every one is decoded and re-encoded without
     * metadata; over these limits, or not an image of an allowed format, it is refused.
     */
    exemplarLimits: z
      .object({
        maxBytes: z.number().int().positive().default(8 * 1024 * 1024),
        maxPixels: z.number().int().positive().default(4096 * 4096),
        maxSide: z.number().int().positive().default(4096),
        formats: z.array(z.enum(["png", "jpeg"])).min(1).default(["png", "jpeg"]),
      })
      .strict()
      .default({}),
  })
  .strict();

export const privacySchema = z
  .object({
    /** Maximum exemplars this site ever exports. */
    exemplarBudget: z.number().int().nonnegative().default(100),
    /** Maximum exemplars per declared patient key. */
    perPatientCap: z.number().int().positive().optional(),
    /** k for k-anonymity over declared quasi-identifiers; off when absent. */
    kAnonymity: z.number().int().min(2).optional(),
    /** Downscale exported images so the longest side is at most this. */
    maxSide: z.number().int().positive().default(512),
    /** Hamming distance at or below which a perceptual hash counts as a near duplicate. */
    dedupeHamming: z.number().int().nonnegative().default(6),
    /**
     * How exported exemplars are cut and encoded (docs/privacy.md): overlayRegions (scope insets,
     * burned-in text), roiCrop, roiMargin, borderThreshold, borderMinContent, boxMinVisible,
     * refuseIfAllBoxesLost, format, jpegQuality. Unset keys take the pipeline defaults.
     */
    exemplarPipeline: exemplarPipelineOptionsSchema.default({}),
    /** Secret used to salt source-record hashes and remap DICOM UIDs. Read it from a file or env. */
    siteSecret: z.string().min(16).optional(),
    /** Differential privacy of weight deltas. */
    dp: z
      .object({
        enabled: z.boolean().default(false),
        clipNorm: z.number().positive().default(1),
        noiseMultiplier: z.number().nonnegative().default(1),
        delta: z.number().positive().max(1).default(1e-5),
        epsilonBudget: z.number().positive().default(10),
      })
      .strict()
      .default({}),
  })
  .strict();

export const agentSchema = z
  .object({
    /** This site's id; it must equal the CN of the site certificate. */
    siteId: z.string().regex(/^[a-z0-9][a-z0-9-_.]{0,62}$/, "lowercase letters, digits, '-', '_' or '.', at most 63 characters").optional(),
    /** Coordinator gRPC address. */
    coordinator: hostPort.default("127.0.0.1:7443"),
    /** The site's dataset: a COCO folder (annotations.json + images/). Never leaves the site. */
    data: z.string().min(1).optional(),
    /**
     * The site's held-out test split (a COCO folder), for runs that evaluate at the sites: the site
     * evaluates each model version it is asked to on it and returns only COCO statistics. Never
     * leaves the site. Without it the site is not asked to evaluate.
     */
    testData: z.string().min(1).optional(),
    /**
     * The smallest test split the site evaluates on: statistics over a handful of images come close
     * to describing those images, so below this the site refuses (the cell stays empty, with why).
     */
    evalMinImages: z.number().int().min(1).default(10),
    /** Domain name this site's data belongs to (a column of R); defaults to the data folder's name. */
    domain: z.string().min(1).optional(),
    /** Task family, e.g. "polyp" or "cells". */
    task: z.string().min(1).default("detection"),
    /** Local state: audit log, downloaded models, resumable transfers. */
    stateDir: z.string().min(1).default("./agent-state"),
    /**
     * Downloaded models kept besides those of the agent's open tasks, most recently used first; older
     * ones are deleted between tasks (a later task from one of them downloads it again).
     */
    keepModels: z.number().int().nonnegative().default(2),
    /**
     * Images of the site's folder that do not decode (checked once at start-up, cached by content
     * hash): "skip" trains without them and names them to the operator and the coordinator;
     * "refuse" does not start.
     */
    badImages: z.enum(["skip", "refuse"]).default("skip"),
    tls: tlsSchema.default({}),
    insecure: z.boolean().default(false),
    backend: z.enum(["wasm", "tensorflow", "cpu"]).default("wasm"),
    /** Training engine: "tfjs" (autodiff, the reference; uses `backend`) or "ort" (the onnxruntime training graph on a worker thread). */
    trainEngine: z.enum(["tfjs", "ort"]).default("ort"),
    /** onnxruntime threads for trainEngine "ort" (default: the core count). */
    trainThreads: z.number().int().positive().optional(),
    /** onnxruntime execution provider for trainEngine "ort": "cuda" needs onnxruntime-node's CUDA build. */
    executionProvider: z.enum(["cpu", "cuda"]).default("cpu"),
    privacy: privacySchema.default({}),
  })
  .strict();

export const configSchema = z
  .object({
    log: logSchema.default({}),
    coordinator: coordinatorSchema.default({}),
    agent: agentSchema.default({}),
  })
  .strict();

export type MedfclConfig = z.infer<typeof configSchema>;
export type CoordinatorConfig = z.infer<typeof coordinatorSchema>;
export type AgentConfig = z.infer<typeof agentSchema>;
export type PrivacyConfig = z.infer<typeof privacySchema>;
