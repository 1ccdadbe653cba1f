import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AccuracyMatrix as _medfcl_v1_AccuracyMatrix, AccuracyMatrix__Output as _medfcl_v1_AccuracyMatrix__Output } from './medfcl/v1/AccuracyMatrix.js';
import type { AdminServiceClient as _medfcl_v1_AdminServiceClient, AdminServiceDefinition as _medfcl_v1_AdminServiceDefinition } from './medfcl/v1/AdminService.js';
import type { ApCell as _medfcl_v1_ApCell, ApCell__Output as _medfcl_v1_ApCell__Output } from './medfcl/v1/ApCell.js';
import type { Audit as _medfcl_v1_Audit, Audit__Output as _medfcl_v1_Audit__Output } from './medfcl/v1/Audit.js';
import type { Box as _medfcl_v1_Box, Box__Output as _medfcl_v1_Box__Output } from './medfcl/v1/Box.js';
import type { Category as _medfcl_v1_Category, Category__Output as _medfcl_v1_Category__Output } from './medfcl/v1/Category.js';
import type { CategoryAp as _medfcl_v1_CategoryAp, CategoryAp__Output as _medfcl_v1_CategoryAp__Output } from './medfcl/v1/CategoryAp.js';
import type { Chunk as _medfcl_v1_Chunk, Chunk__Output as _medfcl_v1_Chunk__Output } from './medfcl/v1/Chunk.js';
import type { CreateRunRequest as _medfcl_v1_CreateRunRequest, CreateRunRequest__Output as _medfcl_v1_CreateRunRequest__Output } from './medfcl/v1/CreateRunRequest.js';
import type { DatasetManifest as _medfcl_v1_DatasetManifest, DatasetManifest__Output as _medfcl_v1_DatasetManifest__Output } from './medfcl/v1/DatasetManifest.js';
import type { EvalTask as _medfcl_v1_EvalTask, EvalTask__Output as _medfcl_v1_EvalTask__Output } from './medfcl/v1/EvalTask.js';
import type { EvaluationAgreement as _medfcl_v1_EvaluationAgreement, EvaluationAgreement__Output as _medfcl_v1_EvaluationAgreement__Output } from './medfcl/v1/EvaluationAgreement.js';
import type { ExemplarInfo as _medfcl_v1_ExemplarInfo, ExemplarInfo__Output as _medfcl_v1_ExemplarInfo__Output } from './medfcl/v1/ExemplarInfo.js';
import type { ExemplarMessage as _medfcl_v1_ExemplarMessage, ExemplarMessage__Output as _medfcl_v1_ExemplarMessage__Output } from './medfcl/v1/ExemplarMessage.js';
import type { ExemplarPushHeader as _medfcl_v1_ExemplarPushHeader, ExemplarPushHeader__Output as _medfcl_v1_ExemplarPushHeader__Output } from './medfcl/v1/ExemplarPushHeader.js';
import type { FilterStage as _medfcl_v1_FilterStage, FilterStage__Output as _medfcl_v1_FilterStage__Output } from './medfcl/v1/FilterStage.js';
import type { GetAuditRequest as _medfcl_v1_GetAuditRequest, GetAuditRequest__Output as _medfcl_v1_GetAuditRequest__Output } from './medfcl/v1/GetAuditRequest.js';
import type { GetRunRequest as _medfcl_v1_GetRunRequest, GetRunRequest__Output as _medfcl_v1_GetRunRequest__Output } from './medfcl/v1/GetRunRequest.js';
import type { HeartbeatRequest as _medfcl_v1_HeartbeatRequest, HeartbeatRequest__Output as _medfcl_v1_HeartbeatRequest__Output } from './medfcl/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _medfcl_v1_HeartbeatResponse, HeartbeatResponse__Output as _medfcl_v1_HeartbeatResponse__Output } from './medfcl/v1/HeartbeatResponse.js';
import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from './medfcl/v1/Hyperparameters.js';
import type { Idle as _medfcl_v1_Idle, Idle__Output as _medfcl_v1_Idle__Output } from './medfcl/v1/Idle.js';
import type { ListRunsRequest as _medfcl_v1_ListRunsRequest, ListRunsRequest__Output as _medfcl_v1_ListRunsRequest__Output } from './medfcl/v1/ListRunsRequest.js';
import type { ListRunsResponse as _medfcl_v1_ListRunsResponse, ListRunsResponse__Output as _medfcl_v1_ListRunsResponse__Output } from './medfcl/v1/ListRunsResponse.js';
import type { MatrixRow as _medfcl_v1_MatrixRow, MatrixRow__Output as _medfcl_v1_MatrixRow__Output } from './medfcl/v1/MatrixRow.js';
import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from './medfcl/v1/Metric.js';
import type { ModelChunk as _medfcl_v1_ModelChunk, ModelChunk__Output as _medfcl_v1_ModelChunk__Output } from './medfcl/v1/ModelChunk.js';
import type { ModelVersion as _medfcl_v1_ModelVersion, ModelVersion__Output as _medfcl_v1_ModelVersion__Output } from './medfcl/v1/ModelVersion.js';
import type { NextTaskRequest as _medfcl_v1_NextTaskRequest, NextTaskRequest__Output as _medfcl_v1_NextTaskRequest__Output } from './medfcl/v1/NextTaskRequest.js';
import type { NextTaskResponse as _medfcl_v1_NextTaskResponse, NextTaskResponse__Output as _medfcl_v1_NextTaskResponse__Output } from './medfcl/v1/NextTaskResponse.js';
import type { Prompt as _medfcl_v1_Prompt, Prompt__Output as _medfcl_v1_Prompt__Output } from './medfcl/v1/Prompt.js';
import type { Provenance as _medfcl_v1_Provenance, Provenance__Output as _medfcl_v1_Provenance__Output } from './medfcl/v1/Provenance.js';
import type { PullExemplarsRequest as _medfcl_v1_PullExemplarsRequest, PullExemplarsRequest__Output as _medfcl_v1_PullExemplarsRequest__Output } from './medfcl/v1/PullExemplarsRequest.js';
import type { PullModelRequest as _medfcl_v1_PullModelRequest, PullModelRequest__Output as _medfcl_v1_PullModelRequest__Output } from './medfcl/v1/PullModelRequest.js';
import type { PullModelVersionRequest as _medfcl_v1_PullModelVersionRequest, PullModelVersionRequest__Output as _medfcl_v1_PullModelVersionRequest__Output } from './medfcl/v1/PullModelVersionRequest.js';
import type { PushExemplarsResponse as _medfcl_v1_PushExemplarsResponse, PushExemplarsResponse__Output as _medfcl_v1_PushExemplarsResponse__Output } from './medfcl/v1/PushExemplarsResponse.js';
import type { PushUpdateMessage as _medfcl_v1_PushUpdateMessage, PushUpdateMessage__Output as _medfcl_v1_PushUpdateMessage__Output } from './medfcl/v1/PushUpdateMessage.js';
import type { PushUpdateResponse as _medfcl_v1_PushUpdateResponse, PushUpdateResponse__Output as _medfcl_v1_PushUpdateResponse__Output } from './medfcl/v1/PushUpdateResponse.js';
import type { RegisterRequest as _medfcl_v1_RegisterRequest, RegisterRequest__Output as _medfcl_v1_RegisterRequest__Output } from './medfcl/v1/RegisterRequest.js';
import type { RegisterResponse as _medfcl_v1_RegisterResponse, RegisterResponse__Output as _medfcl_v1_RegisterResponse__Output } from './medfcl/v1/RegisterResponse.js';
import type { RejectedExemplar as _medfcl_v1_RejectedExemplar, RejectedExemplar__Output as _medfcl_v1_RejectedExemplar__Output } from './medfcl/v1/RejectedExemplar.js';
import type { RejectedUpdate as _medfcl_v1_RejectedUpdate, RejectedUpdate__Output as _medfcl_v1_RejectedUpdate__Output } from './medfcl/v1/RejectedUpdate.js';
import type { ReportEvaluationRequest as _medfcl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _medfcl_v1_ReportEvaluationRequest__Output } from './medfcl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _medfcl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _medfcl_v1_ReportEvaluationResponse__Output } from './medfcl/v1/ReportEvaluationResponse.js';
import type { ReportMetricsRequest as _medfcl_v1_ReportMetricsRequest, ReportMetricsRequest__Output as _medfcl_v1_ReportMetricsRequest__Output } from './medfcl/v1/ReportMetricsRequest.js';
import type { ReportMetricsResponse as _medfcl_v1_ReportMetricsResponse, ReportMetricsResponse__Output as _medfcl_v1_ReportMetricsResponse__Output } from './medfcl/v1/ReportMetricsResponse.js';
import type { RevealedShare as _medfcl_v1_RevealedShare, RevealedShare__Output as _medfcl_v1_RevealedShare__Output } from './medfcl/v1/RevealedShare.js';
import type { Run as _medfcl_v1_Run, Run__Output as _medfcl_v1_Run__Output } from './medfcl/v1/Run.js';
import type { SealedShare as _medfcl_v1_SealedShare, SealedShare__Output as _medfcl_v1_SealedShare__Output } from './medfcl/v1/SealedShare.js';
import type { SecAggKeysRequest as _medfcl_v1_SecAggKeysRequest, SecAggKeysRequest__Output as _medfcl_v1_SecAggKeysRequest__Output } from './medfcl/v1/SecAggKeysRequest.js';
import type { SecAggKeysResponse as _medfcl_v1_SecAggKeysResponse, SecAggKeysResponse__Output as _medfcl_v1_SecAggKeysResponse__Output } from './medfcl/v1/SecAggKeysResponse.js';
import type { SecAggPeerKeys as _medfcl_v1_SecAggPeerKeys, SecAggPeerKeys__Output as _medfcl_v1_SecAggPeerKeys__Output } from './medfcl/v1/SecAggPeerKeys.js';
import type { SecAggSharesRequest as _medfcl_v1_SecAggSharesRequest, SecAggSharesRequest__Output as _medfcl_v1_SecAggSharesRequest__Output } from './medfcl/v1/SecAggSharesRequest.js';
import type { SecAggSharesResponse as _medfcl_v1_SecAggSharesResponse, SecAggSharesResponse__Output as _medfcl_v1_SecAggSharesResponse__Output } from './medfcl/v1/SecAggSharesResponse.js';
import type { SecAggUnmaskRequest as _medfcl_v1_SecAggUnmaskRequest, SecAggUnmaskRequest__Output as _medfcl_v1_SecAggUnmaskRequest__Output } from './medfcl/v1/SecAggUnmaskRequest.js';
import type { SecAggUnmaskResponse as _medfcl_v1_SecAggUnmaskResponse, SecAggUnmaskResponse__Output as _medfcl_v1_SecAggUnmaskResponse__Output } from './medfcl/v1/SecAggUnmaskResponse.js';
import type { SecureAggregation as _medfcl_v1_SecureAggregation, SecureAggregation__Output as _medfcl_v1_SecureAggregation__Output } from './medfcl/v1/SecureAggregation.js';
import type { Shutdown as _medfcl_v1_Shutdown, Shutdown__Output as _medfcl_v1_Shutdown__Output } from './medfcl/v1/Shutdown.js';
import type { SiteAudit as _medfcl_v1_SiteAudit, SiteAudit__Output as _medfcl_v1_SiteAudit__Output } from './medfcl/v1/SiteAudit.js';
import type { SiteEvaluationResult as _medfcl_v1_SiteEvaluationResult, SiteEvaluationResult__Output as _medfcl_v1_SiteEvaluationResult__Output } from './medfcl/v1/SiteEvaluationResult.js';
import type { SiteServiceClient as _medfcl_v1_SiteServiceClient, SiteServiceDefinition as _medfcl_v1_SiteServiceDefinition } from './medfcl/v1/SiteService.js';
import type { Step as _medfcl_v1_Step, Step__Output as _medfcl_v1_Step__Output } from './medfcl/v1/Step.js';
import type { TaskOutcome as _medfcl_v1_TaskOutcome, TaskOutcome__Output as _medfcl_v1_TaskOutcome__Output } from './medfcl/v1/TaskOutcome.js';
import type { TensorManifest as _medfcl_v1_TensorManifest, TensorManifest__Output as _medfcl_v1_TensorManifest__Output } from './medfcl/v1/TensorManifest.js';
import type { TensorSpec as _medfcl_v1_TensorSpec, TensorSpec__Output as _medfcl_v1_TensorSpec__Output } from './medfcl/v1/TensorSpec.js';
import type { TestSetManifest as _medfcl_v1_TestSetManifest, TestSetManifest__Output as _medfcl_v1_TestSetManifest__Output } from './medfcl/v1/TestSetManifest.js';
import type { TrainTask as _medfcl_v1_TrainTask, TrainTask__Output as _medfcl_v1_TrainTask__Output } from './medfcl/v1/TrainTask.js';
import type { UpdateHeader as _medfcl_v1_UpdateHeader, UpdateHeader__Output as _medfcl_v1_UpdateHeader__Output } from './medfcl/v1/UpdateHeader.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  medfcl: {
    v1: {
      AccuracyMatrix: MessageTypeDefinition<_medfcl_v1_AccuracyMatrix, _medfcl_v1_AccuracyMatrix__Output>
      AdminService: SubtypeConstructor<typeof grpc.Client, _medfcl_v1_AdminServiceClient> & { service: _medfcl_v1_AdminServiceDefinition }
      ApCell: MessageTypeDefinition<_medfcl_v1_ApCell, _medfcl_v1_ApCell__Output>
      Audit: MessageTypeDefinition<_medfcl_v1_Audit, _medfcl_v1_Audit__Output>
      Box: MessageTypeDefinition<_medfcl_v1_Box, _medfcl_v1_Box__Output>
      Category: MessageTypeDefinition<_medfcl_v1_Category, _medfcl_v1_Category__Output>
      CategoryAp: MessageTypeDefinition<_medfcl_v1_CategoryAp, _medfcl_v1_CategoryAp__Output>
      Chunk: MessageTypeDefinition<_medfcl_v1_Chunk, _medfcl_v1_Chunk__Output>
      CreateRunRequest: MessageTypeDefinition<_medfcl_v1_CreateRunRequest, _medfcl_v1_CreateRunRequest__Output>
      DatasetManifest: MessageTypeDefinition<_medfcl_v1_DatasetManifest, _medfcl_v1_DatasetManifest__Output>
      DeltaEncoding: EnumTypeDefinition
      DropoutPolicy: EnumTypeDefinition
      EvalTask: MessageTypeDefinition<_medfcl_v1_EvalTask, _medfcl_v1_EvalTask__Output>
      EvaluationAgreement: MessageTypeDefinition<_medfcl_v1_EvaluationAgreement, _medfcl_v1_EvaluationAgreement__Output>
      EvaluationPlacement: EnumTypeDefinition
      ExemplarInfo: MessageTypeDefinition<_medfcl_v1_ExemplarInfo, _medfcl_v1_ExemplarInfo__Output>
      ExemplarMessage: MessageTypeDefinition<_medfcl_v1_ExemplarMessage, _medfcl_v1_ExemplarMessage__Output>
      ExemplarPushHeader: MessageTypeDefinition<_medfcl_v1_ExemplarPushHeader, _medfcl_v1_ExemplarPushHeader__Output>
      FilterStage: MessageTypeDefinition<_medfcl_v1_FilterStage, _medfcl_v1_FilterStage__Output>
      GetAuditRequest: MessageTypeDefinition<_medfcl_v1_GetAuditRequest, _medfcl_v1_GetAuditRequest__Output>
      GetRunRequest: MessageTypeDefinition<_medfcl_v1_GetRunRequest, _medfcl_v1_GetRunRequest__Output>
      HeartbeatRequest: MessageTypeDefinition<_medfcl_v1_HeartbeatRequest, _medfcl_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_medfcl_v1_HeartbeatResponse, _medfcl_v1_HeartbeatResponse__Output>
      Hyperparameters: MessageTypeDefinition<_medfcl_v1_Hyperparameters, _medfcl_v1_Hyperparameters__Output>
      Idle: MessageTypeDefinition<_medfcl_v1_Idle, _medfcl_v1_Idle__Output>
      ListRunsRequest: MessageTypeDefinition<_medfcl_v1_ListRunsRequest, _medfcl_v1_ListRunsRequest__Output>
      ListRunsResponse: MessageTypeDefinition<_medfcl_v1_ListRunsResponse, _medfcl_v1_ListRunsResponse__Output>
      MatrixRow: MessageTypeDefinition<_medfcl_v1_MatrixRow, _medfcl_v1_MatrixRow__Output>
      Metric: MessageTypeDefinition<_medfcl_v1_Metric, _medfcl_v1_Metric__Output>
      ModelChunk: MessageTypeDefinition<_medfcl_v1_ModelChunk, _medfcl_v1_ModelChunk__Output>
      ModelVersion: MessageTypeDefinition<_medfcl_v1_ModelVersion, _medfcl_v1_ModelVersion__Output>
      NextTaskRequest: MessageTypeDefinition<_medfcl_v1_NextTaskRequest, _medfcl_v1_NextTaskRequest__Output>
      NextTaskResponse: MessageTypeDefinition<_medfcl_v1_NextTaskResponse, _medfcl_v1_NextTaskResponse__Output>
      Prompt: MessageTypeDefinition<_medfcl_v1_Prompt, _medfcl_v1_Prompt__Output>
      Provenance: MessageTypeDefinition<_medfcl_v1_Provenance, _medfcl_v1_Provenance__Output>
      PullExemplarsRequest: MessageTypeDefinition<_medfcl_v1_PullExemplarsRequest, _medfcl_v1_PullExemplarsRequest__Output>
      PullModelRequest: MessageTypeDefinition<_medfcl_v1_PullModelRequest, _medfcl_v1_PullModelRequest__Output>
      PullModelVersionRequest: MessageTypeDefinition<_medfcl_v1_PullModelVersionRequest, _medfcl_v1_PullModelVersionRequest__Output>
      PushExemplarsResponse: MessageTypeDefinition<_medfcl_v1_PushExemplarsResponse, _medfcl_v1_PushExemplarsResponse__Output>
      PushUpdateMessage: MessageTypeDefinition<_medfcl_v1_PushUpdateMessage, _medfcl_v1_PushUpdateMessage__Output>
      PushUpdateResponse: MessageTypeDefinition<_medfcl_v1_PushUpdateResponse, _medfcl_v1_PushUpdateResponse__Output>
      RegisterRequest: MessageTypeDefinition<_medfcl_v1_RegisterRequest, _medfcl_v1_RegisterRequest__Output>
      RegisterResponse: MessageTypeDefinition<_medfcl_v1_RegisterResponse, _medfcl_v1_RegisterResponse__Output>
      RejectedExemplar: MessageTypeDefinition<_medfcl_v1_RejectedExemplar, _medfcl_v1_RejectedExemplar__Output>
      RejectedUpdate: MessageTypeDefinition<_medfcl_v1_RejectedUpdate, _medfcl_v1_RejectedUpdate__Output>
      ReplaySampler: EnumTypeDefinition
      ReportEvaluationRequest: MessageTypeDefinition<_medfcl_v1_ReportEvaluationRequest, _medfcl_v1_ReportEvaluationRequest__Output>
      ReportEvaluationResponse: MessageTypeDefinition<_medfcl_v1_ReportEvaluationResponse, _medfcl_v1_ReportEvaluationResponse__Output>
      ReportMetricsRequest: MessageTypeDefinition<_medfcl_v1_ReportMetricsRequest, _medfcl_v1_ReportMetricsRequest__Output>
      ReportMetricsResponse: MessageTypeDefinition<_medfcl_v1_ReportMetricsResponse, _medfcl_v1_ReportMetricsResponse__Output>
      RevealedShare: MessageTypeDefinition<_medfcl_v1_RevealedShare, _medfcl_v1_RevealedShare__Output>
      Run: MessageTypeDefinition<_medfcl_v1_Run, _medfcl_v1_Run__Output>
      SealedShare: MessageTypeDefinition<_medfcl_v1_SealedShare, _medfcl_v1_SealedShare__Output>
      SecAggKeysRequest: MessageTypeDefinition<_medfcl_v1_SecAggKeysRequest, _medfcl_v1_SecAggKeysRequest__Output>
      SecAggKeysResponse: MessageTypeDefinition<_medfcl_v1_SecAggKeysResponse, _medfcl_v1_SecAggKeysResponse__Output>
      SecAggPeerKeys: MessageTypeDefinition<_medfcl_v1_SecAggPeerKeys, _medfcl_v1_SecAggPeerKeys__Output>
      SecAggSharesRequest: MessageTypeDefinition<_medfcl_v1_SecAggSharesRequest, _medfcl_v1_SecAggSharesRequest__Output>
      SecAggSharesResponse: MessageTypeDefinition<_medfcl_v1_SecAggSharesResponse, _medfcl_v1_SecAggSharesResponse__Output>
      SecAggUnmaskRequest: MessageTypeDefinition<_medfcl_v1_SecAggUnmaskRequest, _medfcl_v1_SecAggUnmaskRequest__Output>
      SecAggUnmaskResponse: MessageTypeDefinition<_medfcl_v1_SecAggUnmaskResponse, _medfcl_v1_SecAggUnmaskResponse__Output>
      SecretKind: EnumTypeDefinition
      SecureAggregation: MessageTypeDefinition<_medfcl_v1_SecureAggregation, _medfcl_v1_SecureAggregation__Output>
      ShotsSelection: EnumTypeDefinition
      Shutdown: MessageTypeDefinition<_medfcl_v1_Shutdown, _medfcl_v1_Shutdown__Output>
      SiteAudit: MessageTypeDefinition<_medfcl_v1_SiteAudit, _medfcl_v1_SiteAudit__Output>
      SiteEvaluationResult: MessageTypeDefinition<_medfcl_v1_SiteEvaluationResult, _medfcl_v1_SiteEvaluationResult__Output>
      SiteService: SubtypeConstructor<typeof grpc.Client, _medfcl_v1_SiteServiceClient> & { service: _medfcl_v1_SiteServiceDefinition }
      Step: MessageTypeDefinition<_medfcl_v1_Step, _medfcl_v1_Step__Output>
      TaskOutcome: MessageTypeDefinition<_medfcl_v1_TaskOutcome, _medfcl_v1_TaskOutcome__Output>
      TaskOutcomeKind: EnumTypeDefinition
      TensorManifest: MessageTypeDefinition<_medfcl_v1_TensorManifest, _medfcl_v1_TensorManifest__Output>
      TensorSpec: MessageTypeDefinition<_medfcl_v1_TensorSpec, _medfcl_v1_TensorSpec__Output>
      TestSetManifest: MessageTypeDefinition<_medfcl_v1_TestSetManifest, _medfcl_v1_TestSetManifest__Output>
      TrainTask: MessageTypeDefinition<_medfcl_v1_TrainTask, _medfcl_v1_TrainTask__Output>
      UpdateHeader: MessageTypeDefinition<_medfcl_v1_UpdateHeader, _medfcl_v1_UpdateHeader__Output>
    }
  }
}

