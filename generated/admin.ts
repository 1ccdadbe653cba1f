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
import type { EvaluationAgreement as _medfcl_v1_EvaluationAgreement, EvaluationAgreement__Output as _medfcl_v1_EvaluationAgreement__Output } from './medfcl/v1/EvaluationAgreement.js';
import type { ExemplarInfo as _medfcl_v1_ExemplarInfo, ExemplarInfo__Output as _medfcl_v1_ExemplarInfo__Output } from './medfcl/v1/ExemplarInfo.js';
import type { FilterStage as _medfcl_v1_FilterStage, FilterStage__Output as _medfcl_v1_FilterStage__Output } from './medfcl/v1/FilterStage.js';
import type { GetAuditRequest as _medfcl_v1_GetAuditRequest, GetAuditRequest__Output as _medfcl_v1_GetAuditRequest__Output } from './medfcl/v1/GetAuditRequest.js';
import type { GetRunRequest as _medfcl_v1_GetRunRequest, GetRunRequest__Output as _medfcl_v1_GetRunRequest__Output } from './medfcl/v1/GetRunRequest.js';
import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from './medfcl/v1/Hyperparameters.js';
import type { ListRunsRequest as _medfcl_v1_ListRunsRequest, ListRunsRequest__Output as _medfcl_v1_ListRunsRequest__Output } from './medfcl/v1/ListRunsRequest.js';
import type { ListRunsResponse as _medfcl_v1_ListRunsResponse, ListRunsResponse__Output as _medfcl_v1_ListRunsResponse__Output } from './medfcl/v1/ListRunsResponse.js';
import type { MatrixRow as _medfcl_v1_MatrixRow, MatrixRow__Output as _medfcl_v1_MatrixRow__Output } from './medfcl/v1/MatrixRow.js';
import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from './medfcl/v1/Metric.js';
import type { ModelVersion as _medfcl_v1_ModelVersion, ModelVersion__Output as _medfcl_v1_ModelVersion__Output } from './medfcl/v1/ModelVersion.js';
import type { Prompt as _medfcl_v1_Prompt, Prompt__Output as _medfcl_v1_Prompt__Output } from './medfcl/v1/Prompt.js';
import type { Provenance as _medfcl_v1_Provenance, Provenance__Output as _medfcl_v1_Provenance__Output } from './medfcl/v1/Provenance.js';
import type { RejectedUpdate as _medfcl_v1_RejectedUpdate, RejectedUpdate__Output as _medfcl_v1_RejectedUpdate__Output } from './medfcl/v1/RejectedUpdate.js';
import type { Run as _medfcl_v1_Run, Run__Output as _medfcl_v1_Run__Output } from './medfcl/v1/Run.js';
import type { SiteAudit as _medfcl_v1_SiteAudit, SiteAudit__Output as _medfcl_v1_SiteAudit__Output } from './medfcl/v1/SiteAudit.js';
import type { SiteEvaluationResult as _medfcl_v1_SiteEvaluationResult, SiteEvaluationResult__Output as _medfcl_v1_SiteEvaluationResult__Output } from './medfcl/v1/SiteEvaluationResult.js';
import type { Step as _medfcl_v1_Step, Step__Output as _medfcl_v1_Step__Output } from './medfcl/v1/Step.js';
import type { TensorManifest as _medfcl_v1_TensorManifest, TensorManifest__Output as _medfcl_v1_TensorManifest__Output } from './medfcl/v1/TensorManifest.js';
import type { TensorSpec as _medfcl_v1_TensorSpec, TensorSpec__Output as _medfcl_v1_TensorSpec__Output } from './medfcl/v1/TensorSpec.js';
import type { TestSetManifest as _medfcl_v1_TestSetManifest, TestSetManifest__Output as _medfcl_v1_TestSetManifest__Output } from './medfcl/v1/TestSetManifest.js';

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
      EvaluationAgreement: MessageTypeDefinition<_medfcl_v1_EvaluationAgreement, _medfcl_v1_EvaluationAgreement__Output>
      EvaluationPlacement: EnumTypeDefinition
      ExemplarInfo: MessageTypeDefinition<_medfcl_v1_ExemplarInfo, _medfcl_v1_ExemplarInfo__Output>
      FilterStage: MessageTypeDefinition<_medfcl_v1_FilterStage, _medfcl_v1_FilterStage__Output>
      GetAuditRequest: MessageTypeDefinition<_medfcl_v1_GetAuditRequest, _medfcl_v1_GetAuditRequest__Output>
      GetRunRequest: MessageTypeDefinition<_medfcl_v1_GetRunRequest, _medfcl_v1_GetRunRequest__Output>
      Hyperparameters: MessageTypeDefinition<_medfcl_v1_Hyperparameters, _medfcl_v1_Hyperparameters__Output>
      ListRunsRequest: MessageTypeDefinition<_medfcl_v1_ListRunsRequest, _medfcl_v1_ListRunsRequest__Output>
      ListRunsResponse: MessageTypeDefinition<_medfcl_v1_ListRunsResponse, _medfcl_v1_ListRunsResponse__Output>
      MatrixRow: MessageTypeDefinition<_medfcl_v1_MatrixRow, _medfcl_v1_MatrixRow__Output>
      Metric: MessageTypeDefinition<_medfcl_v1_Metric, _medfcl_v1_Metric__Output>
      ModelVersion: MessageTypeDefinition<_medfcl_v1_ModelVersion, _medfcl_v1_ModelVersion__Output>
      Prompt: MessageTypeDefinition<_medfcl_v1_Prompt, _medfcl_v1_Prompt__Output>
      Provenance: MessageTypeDefinition<_medfcl_v1_Provenance, _medfcl_v1_Provenance__Output>
      RejectedUpdate: MessageTypeDefinition<_medfcl_v1_RejectedUpdate, _medfcl_v1_RejectedUpdate__Output>
      ReplaySampler: EnumTypeDefinition
      Run: MessageTypeDefinition<_medfcl_v1_Run, _medfcl_v1_Run__Output>
      ShotsSelection: EnumTypeDefinition
      SiteAudit: MessageTypeDefinition<_medfcl_v1_SiteAudit, _medfcl_v1_SiteAudit__Output>
      SiteEvaluationResult: MessageTypeDefinition<_medfcl_v1_SiteEvaluationResult, _medfcl_v1_SiteEvaluationResult__Output>
      Step: MessageTypeDefinition<_medfcl_v1_Step, _medfcl_v1_Step__Output>
      TensorManifest: MessageTypeDefinition<_medfcl_v1_TensorManifest, _medfcl_v1_TensorManifest__Output>
      TensorSpec: MessageTypeDefinition<_medfcl_v1_TensorSpec, _medfcl_v1_TensorSpec__Output>
      TestSetManifest: MessageTypeDefinition<_medfcl_v1_TestSetManifest, _medfcl_v1_TestSetManifest__Output>
    }
  }
}

