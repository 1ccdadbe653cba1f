import { type Command } from "commander";
import { readFileSync } from "node:fs";
import { ErrorCode, MedfclError } from "../../services/errors/index.js";
import {
  defaultCaOptions,
  defaultLeafOptions,
  describeCertificate,
  initCaDir,
  parseHosts,
  writeAdminCredentials,
  writeCoordinatorCredentials,
  writeEvaluatorCredentials,
  writeSiteCredentials,
  type CertificateSummary,
  type PkiWriteResult,
} from "../../services/transport/index.js";
import { action, numberOption, withExamples } from "../context.js";

function summaryLines(s: CertificateSummary): string[] {
  const sans = [...s.dnsNames.map((d) => `DNS:${d}`), ...s.ipAddresses.map((ip) => `IP:${ip}`)];
  return [
    `subject CN   ${s.subjectCN}`,
    ...(s.isCa || s.extKeyUsage.includes("serverAuth") ? [] : [`role         ${s.role ?? "none (issued before roles; reissue with medfcl pki issue-site, issue-admin or issue-evaluator)"}`]),
    `issuer CN    ${s.issuerCN}`,
    `valid        ${s.notBefore.toISOString()} .. ${s.notAfter.toISOString()}`,
    `CA           ${s.isCa ? "yes" : "no"}`,
    ...(s.extKeyUsage.length ? [`ext usage    ${s.extKeyUsage.join(", ")}`] : []),
    ...(sans.length ? [`alt names    ${sans.join(", ")}`] : []),
    `serial       ${s.serialNumber}`,
    `sha256       ${s.fingerprint256}`,
  ];
}

function report(result: PkiWriteResult): void {
  const lines = [...result.files.map((f) => `wrote ${f}`), ...summaryLines(result.summary)];
  process.stdout.write(`${lines.join("\n")}\n`);
}

interface InitOpts {
  out: string;
  cn: string;
  days: number;
  bits: number;
  force?: boolean;
}

type WriteLeaf = (caDir: string, id: string, outDir: string, options: { validityDays: number; keyBits: number; force?: boolean }) => PkiWriteResult;

interface LeafOpts {
  ca: string;
  out: string;
  days: number;
  bits: number;
  force?: boolean;
}

export function registerPki(program: Command): void {
  const pki = program.command("pki").description("create the mTLS certificate authority and the site, admin, evaluator and coordinator certificates");
  withExamples(pki, [
    "medfcl pki init --out certs/ca",
    "medfcl pki issue-site --ca certs/ca --site site-a --out certs/site-a",
    "medfcl pki issue-admin --ca certs/ca --name ops --out certs/admin",
    "medfcl pki issue-evaluator --ca certs/ca --name eval-worker --out certs/eval-worker",
    "medfcl pki issue-coordinator --ca certs/ca --hosts coordinator,localhost,127.0.0.1 --out certs/coordinator",
  ]);
  const ca = defaultCaOptions();
  const leaf = defaultLeafOptions();

  withExamples(
    pki
      .command("init")
      .description("create a self-signed CA: ca.crt and ca.key (mode 0600). Keep ca.key offline; sites only ever get ca.crt")
      .requiredOption("--out <dir>", "directory for ca.crt and ca.key")
      .option("--cn <name>", "subject common name of the CA", ca.commonName)
      .option("--days <n>", "validity in days", numberOption("--days", true), ca.validityDays)
      .option("--bits <n>", "RSA key size: 2048, 3072 or 4096", numberOption("--bits", true), ca.keyBits)
      .option("--force", "replace an existing CA in --out (every certificate it issued stops being trusted)")
      .action(
        action((opts: InitOpts) => {
          report(initCaDir(opts.out, { commonName: opts.cn, validityDays: opts.days, keyBits: opts.bits, force: opts.force }));
        }),
      ),
    ["medfcl pki init --out certs/ca", "medfcl pki init --out certs/ca --cn 'Hospital Consortium CA' --days 1825"],
  );

  /** issue-site, issue-admin and issue-evaluator: one client certificate of a role, its key and the CA's certificate. */
  const issueLeaf = (c: { command: string; description: string; id: { flag: string; key: "site" | "name"; help: string }; files: string; outNote?: string; write: WriteLeaf }, examples: string[]): void => {
    withExamples(
      pki
        .command(c.command)
        .description(c.description)
        .requiredOption("--ca <dir>", "directory made by `medfcl pki init`")
        .requiredOption(c.id.flag, c.id.help)
        .requiredOption("--out <dir>", `directory for ${c.files} and ca.crt${c.outNote ?? ""}`)
        .option("--days <n>", "validity in days", numberOption("--days", true), leaf.validityDays)
        .option("--bits <n>", "RSA key size: 2048, 3072 or 4096", numberOption("--bits", true), leaf.keyBits)
        .option("--force", `replace an existing ${c.files.replace(", ", "/")} in --out`)
        .action(
          action((opts: LeafOpts & Record<"site" | "name", string>) => {
            report(c.write(opts.ca, opts[c.id.key], opts.out, { validityDays: opts.days, keyBits: opts.bits, force: opts.force }));
          }),
        ),
      examples,
    );
  };

  issueLeaf(
    {
      command: "issue-site",
      description: "issue a site's client certificate (CN = site id, role site, clientAuth): site.crt, site.key (0600) and a copy of ca.crt",
      id: { flag: "--site <id>", key: "site", help: "site id, e.g. site-a; the coordinator lets this certificate act for this site only" },
      files: "site.crt, site.key",
      outNote: " (copy it to the site)",
      write: writeSiteCredentials,
    },
    ["medfcl pki issue-site --ca certs/ca --site site-a --out certs/site-a"],
  );
  issueLeaf(
    {
      command: "issue-admin",
      description: "issue an administrator's client certificate (role admin, clientAuth) for AdminService (medfcl runs …): admin.crt, admin.key (0600) and a copy of ca.crt",
      id: { flag: "--name <name>", key: "name", help: "who holds it, e.g. ops; the certificate's role, not this name, makes it an admin" },
      files: "admin.crt, admin.key",
      write: writeAdminCredentials,
    },
    ["medfcl pki issue-admin --ca certs/ca --name ops --out certs/admin"],
  );
  issueLeaf(
    {
      command: "issue-evaluator",
      description:
        "issue a central eval worker's client certificate (role evaluator, clientAuth): it may fetch model versions (AdminService.PullModelVersion) and nothing else, neither runs nor audits nor site calls. Writes evaluator.crt, evaluator.key (0600) and a copy of ca.crt",
      id: { flag: "--name <name>", key: "name", help: "names the worker (or the pool of workers sharing it), e.g. eval-worker; shown in the coordinator's refusals" },
      files: "evaluator.crt, evaluator.key",
      write: writeEvaluatorCredentials,
    },
    [
      "medfcl pki issue-evaluator --ca certs/ca --name eval-worker --out certs/eval-worker",
      "medfcl eval-worker --nats nats://nats:4222 --coordinator coordinator:7443 --tls-ca certs/eval-worker/ca.crt --tls-cert certs/eval-worker/evaluator.crt --tls-key certs/eval-worker/evaluator.key --eval-set kvasir=/data/kvasir/test",
    ],
  );

  withExamples(
    pki
      .command("issue-coordinator")
      .description("issue the coordinator's server certificate (serverAuth) with every host as a DNS or IP subject alternative name")
      .requiredOption("--ca <dir>", "directory made by `medfcl pki init`")
      .requiredOption("--hosts <list>", "comma-separated DNS names and IPs agents use to reach the coordinator")
      .requiredOption("--out <dir>", "directory for coordinator.crt, coordinator.key and ca.crt")
      .option("--days <n>", "validity in days", numberOption("--days", true), leaf.validityDays)
      .option("--bits <n>", "RSA key size: 2048, 3072 or 4096", numberOption("--bits", true), leaf.keyBits)
      .option("--force", "replace an existing coordinator.crt/coordinator.key in --out")
      .action(
        action((opts: LeafOpts & { hosts: string }) => {
          report(writeCoordinatorCredentials(opts.ca, parseHosts(opts.hosts), opts.out, { validityDays: opts.days, keyBits: opts.bits, force: opts.force }));
        }),
      ),
    ["medfcl pki issue-coordinator --ca certs/ca --hosts coordinator,localhost,127.0.0.1 --out certs/coordinator"],
  );

  withExamples(
    pki
      .command("show")
      .argument("<cert>", "PEM certificate file")
      .description("print a certificate's subject, role, issuer, validity, usages and alternative names")
      .action(
        action((file: string) => {
          let pem: Buffer;
          try {
            pem = readFileSync(file);
          } catch (err) {
            throw new MedfclError(ErrorCode.NotFound, `cannot read certificate ${file}: ${(err as Error).message}`, { cause: err, details: { path: file } });
          }
          process.stdout.write(`${summaryLines(describeCertificate(pem)).join("\n")}\n`);
        }),
      ),
    ["medfcl pki show certs/site-a/site.crt", "medfcl pki show certs/eval-worker/evaluator.crt"],
  );
}
