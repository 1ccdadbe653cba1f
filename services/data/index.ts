export type {
  Annotation,
  AugmentOptions,
  CategoryInfo,
  CocoDataset,
  ImageCaption,
  ImageInfo,
  IterateBatchesOptions,
  LetterboxTransform,
  LoadSampleOptions,
  PromptParts,
  RgbImage,
  Sample,
  SuiteDomain,
  SuiteIndex,
  SuiteName,
  SuiteScale,
  SynthesizeOptions,
  ValidationProblem,
} from "./types.js";
export { BmpFormatError, DataArgumentError, DataNotFoundError, DataValidationError, ImageDecodeError, formatProblem } from "./errors.js";
export {
  ANNOTATIONS_FILE,
  CAPTIONS_FILE,
  checkImageFiles,
  defaultLoadCocoOptions,
  indexAnnotations,
  loadCocoDataset,
  makeDataset,
  parseCocoJson,
  subsetDataset,
  validateDataset,
  type ImageCheck,
  type LoadCocoOptions,
} from "./coco.js";
export { decodeImage, readImageSize } from "./image.js";
export { boxIou, compareBoxes, formatAgreement, imageAgreement, type AgreementReport } from "./compare.js";
export {
  SPLIT_FILE,
  SPLIT_NAMES,
  assembleSuite,
  assignSplits,
  imageIdOf,
  readGroupFile,
  readIdList,
  splitDataset,
  type AssembleSuiteOptions,
  type SplitName,
  type SplitOptions,
  type SplitResult,
  type SuiteDomainInput,
} from "./split.js";
export { BCCD_CLASSES, BCCD_PROMPTS, buildRealSuite, type RealSuiteOptions, type RealSuiteResult } from "./real-suite.js";
export { mergeDatasets, type MergePart, type MergeResult } from "./merge.js";
export { decodeBmp, encodeBmp, readBmpHeader } from "./bmp.js";
export {
  DecodedImageCache,
  PAD_VALUE,
  decodedImages,
  defaultAugmentOptions,
  iterateBatches,
  letterboxBox,
  letterboxTransform,
  loadSample,
  parseAugmentOptions,
  unletterboxBox,
} from "./sample.js";
export { hashString, mixSeed, mulberry32, randomShotIndices, type Rng } from "./prng.js";
export {
  POLYP_DOMAINS,
  SCALE_FACTORS,
  SUITE_FILE,
  SYNTH_GENERATOR_VERSION,
  TASK_CATEGORIES,
  TASK_DOMAINS,
  parseSynthesizeOptions,
  readSuiteIndex,
  trainingDomains,
  scaledSize,
  suiteDomains,
  synthesizeSuite,
  type DomainSpec,
  type TaskCategory,
} from "./synth/suite.js";
export {
  datasetHistogram,
  defaultHistogramOptions,
  domainDistances,
  formatDistanceReport,
  histogramDistance,
  type DomainDistanceReport,
  type HistogramOptions,
} from "./stats.js";
export {
  POLYP_PROMPT,
  clipBox,
  promptFor,
  summarizeIds,
  type ConvertReport,
  type PromptMap,
} from "./convert/common.js";
export { componentBoxes } from "./convert/components.js";
export {
  BKAI_CLASSES,
  convertKvasir,
  convertMasks,
  convertRgbMasks,
  convertVoc,
  convertYolo,
  parseColorClasses,
  readClassNames,
  singlePrompt,
  sizeRelation,
  VOC_DIFFICULT,
  type ColorClass,
  type SizeRelation,
  type VocDifficult,
  type KvasirOptions,
  type MaskOptions,
  type RgbMaskOptions,
  type VocOptions,
  type YoloOptions,
} from "./convert/formats.js";
export { convertDicom, dicomToGrey, type DicomOptions, type DicomPair, type DicomWindow } from "./convert/dicom.js";
export { defaultPreviewOptions, renderContactSheet, type PreviewOptions } from "./preview.js";
export { DARK_THRESHOLD, defaultProfileOptions, pixelStats, profileDataset, profilePanels, profilesMarkdown, spread, type DomainProfile, type ProfileOptions, type Spread } from "./profile.js";
export { sequenceIndex, writeSequenceSuite } from "./sequence.js";
