// Original file: proto/medfcl/v1/site.proto


export interface ReportMetricsResponse {
}

export interface ReportMetricsResponse__Output {
}
