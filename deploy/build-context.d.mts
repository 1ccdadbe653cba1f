// Types for deploy/build-context.mjs (a plain node script, so a build host needs no TypeScript).
export interface LockPackage {
  dev?: boolean;
  link?: boolean;
}
export function productionPackages(lock: { packages?: Record<string, LockPackage> }): { roots: string[]; devNested: string[] };
export function dropped(relPath: string): boolean;
export function assembleContext(options: { out: string; copy?: boolean }): { files: number; bytes: number; skipped: number; packages: number };
