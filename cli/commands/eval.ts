import { type Command } from "commander";
import { evaluateCoco, formatCocoSummary, loadCocoGtFile, loadDetectionsFile } from "../../services/eval/index.js";
import { action, withExamples } from "../context.js";

interface EvalCocoOptions {
  gt: string;
  dt: string;
  json?: boolean;
}

export function registerEval(program: Command): void {
  const evalCmd = program.command("eval").description("evaluate detections centrally (COCO bbox AP, identical to pycocotools)");
  withExamples(evalCmd, ["medfcl eval coco --gt annotations.json --dt detections.json"]);

  withExamples(
    evalCmd
      .command("coco")
      .description("COCO bbox evaluation with pycocotools' default parameters: the 12-line summary, or JSON with --json")
      .requiredOption("--gt <file>", "COCO ground truth (images, annotations, categories)")
      .requiredOption("--dt <file>", "COCO results list [{image_id, category_id, bbox, score}]")
      .option("--json", "print {stats: [12 numbers], per_category_ap: {id: ap}}")
      .action(
        action(async (opts: EvalCocoOptions) => {
          const [gt, dt] = await Promise.all([loadCocoGtFile(opts.gt), loadDetectionsFile(opts.dt)]);
          const r = evaluateCoco(gt, dt);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ stats: r.stats, per_category_ap: r.perCategoryAp })}\n`);
          } else {
            process.stdout.write(`${formatCocoSummary(r.stats)}\n`);
          }
        }),
      ),
    [
      "medfcl eval coco --gt data/polyp/test/annotations.json --dt runs/step3/detections.json",
      "medfcl eval coco --gt gt.json --dt dt.json --json | jq .stats[0]",
    ],
  );
}
