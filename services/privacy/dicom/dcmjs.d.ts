// dcmjs ships no type declarations; this covers the part of its API medfcl uses.
declare module "dcmjs" {
  export interface DicomElement {
    vr: string;
    Value?: unknown[];
    _rawValue?: unknown;
  }
  export type DicomDataset = Record<string, DicomElement>;
  export class DicomDict {
    constructor(meta: DicomDataset);
    meta: DicomDataset;
    dict: DicomDataset;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  interface DataNamespace {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict };
    DicomDict: typeof DicomDict;
  }
  const dcmjs: { data: DataNamespace; log: { setLevel(level: string): void } };
  export default dcmjs;
}
