/**
 * The committed word-level vocabulary: 230 distinct words (the list repeats a few) after 3 special
 * tokens. Ids are positions in SPECIAL + WORDS; words outside the list hash into `oovBuckets` rows
 * that come after all of WORDS (see tokenizer.ts).
 *
 * Frozen. Any change, appending included, breaks every checkpoint: the token embedding has one row
 * per entry of WORDS (repeats too), so appending changes its shape, and it moves every hashed row,
 * so an unknown word that a model has learnt lands on another row. A new vocabulary needs a new
 * model family or config (services/model's registry), not an edit here;
 * tests/services/model/tfjs/model.test.ts pins the list.
 */
export const SPECIAL_TOKENS = ["[PAD]", "[CLS]", "[SEP]"] as const;
export const PAD_ID = 0;
export const CLS_ID = 1;
export const SEP_ID = 2;

export const WORDS: readonly string[] = [
  ".", ",", "a", "an", "the", "of", "in", "on", "at", "with", "and", "or", "to", "from", "by", "for", "near", "inside", "under", "over",
  // colours and appearance
  "red", "pink", "yellow", "orange", "white", "black", "brown", "green", "blue", "purple", "gray", "grey", "dark", "light", "bright", "pale",
  "color", "colour", "colored", "shiny", "smooth", "rough", "flat", "raised", "round", "oval", "irregular", "small", "large", "tiny", "big",
  "elongated", "circular", "spherical", "bumpy", "textured", "speckled", "granular", "hypoechoic", "hyperechoic", "anechoic", "bright", "dim",
  "solid", "cystic", "sessile", "pedunculated", "lobulated", "spot", "patch", "area", "region", "shape", "edge", "border", "margin",
  // objects
  "bump", "polyp", "polyps", "lesion", "lesions", "mass", "nodule", "nodules", "tumor", "tumour", "cell", "cells", "nucleus", "nuclei",
  "ulcer", "wound", "spot", "blob", "structure", "organ", "tissue", "vessel", "cyst", "growth", "object", "thing", "abnormality", "bleeding",
  "adenoma", "cancer", "carcinoma", "plaque", "stone", "calcification", "fracture", "tear", "hole", "scar",
  // anatomy
  "rectum", "colon", "bowel", "intestine", "stomach", "esophagus", "duodenum", "cecum", "sigmoid", "mucosa", "wall", "lumen",
  "thyroid", "breast", "liver", "kidney", "lung", "heart", "brain", "prostate", "skin", "foot", "leg", "hand", "arm", "knee", "hip",
  "spine", "head", "neck", "chest", "abdomen", "pelvis", "eye", "retina", "ventricle", "hippocampus", "tumor", "white", "matter",
  // imaging
  "image", "photo", "picture", "scan", "view", "slice", "endoscopy", "endoscopic", "colonoscopy", "ultrasound", "sonography", "mri", "ct",
  "xray", "x", "ray", "microscopy", "microscope", "histology", "dermoscopy", "fluorescence", "nbi", "fice", "stain", "stained", "cytoplasm",
  "blood", "red", "cells", "bacteria", "tissue", "background", "foreground", "left", "right", "upper", "lower", "top", "bottom", "center",
  "middle", "corner", "side", "front", "back", "one", "two", "three", "many", "several", "some", "each", "every", "all", "is", "are",
  "this", "that", "these", "those", "there", "here", "like", "looking", "appearing", "visible", "seen", "shown", "found", "located",
  "diabetic", "chronic", "acute", "benign", "malignant", "normal", "abnormal", "healthy", "diseased", "inflamed", "swollen", "mild", "severe",
];
