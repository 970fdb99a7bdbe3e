export { parseGoldenFile, findingsFileSchema, type GoldenCase, type GoldenComment, type ReportedFinding } from "./dataset.ts";
export { scoreCase, metrics, lineTolerance, type CaseScore, type Metrics, type SameIssueJudge } from "./score.ts";
export { modelJudge } from "./judge-model.ts";
export { runEval, renderEvalReport, silentProgress, type EvalReport, type Progress, type CaseReviewer } from "./run.ts";
