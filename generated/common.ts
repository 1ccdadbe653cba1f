import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Box as _medfcl_v1_Box, Box__Output as _medfcl_v1_Box__Output } from './medfcl/v1/Box.js';
import type { Category as _medfcl_v1_Category, Category__Output as _medfcl_v1_Category__Output } from './medfcl/v1/Category.js';
import type { CategoryAp as _medfcl_v1_CategoryAp, CategoryAp__Output as _medfcl_v1_CategoryAp__Output } from './medfcl/v1/CategoryAp.js';
import type { Chunk as _medfcl_v1_Chunk, Chunk__Output as _medfcl_v1_Chunk__Output } from './medfcl/v1/Chunk.js';
import type { DatasetManifest as _medfcl_v1_DatasetManifest, DatasetManifest__Output as _medfcl_v1_DatasetManifest__Output } from './medfcl/v1/DatasetManifest.js';
import type { ExemplarInfo as _medfcl_v1_ExemplarInfo, ExemplarInfo__Output as _medfcl_v1_ExemplarInfo__Output } from './medfcl/v1/ExemplarInfo.js';
import type { FilterStage as _medfcl_v1_FilterStage, FilterStage__Output as _medfcl_v1_FilterStage__Output } from './medfcl/v1/FilterStage.js';
import type { Hyperparameters as _medfcl_v1_Hyperparameters, Hyperparameters__Output as _medfcl_v1_Hyperparameters__Output } from './medfcl/v1/Hyperparameters.js';
import type { Metric as _medfcl_v1_Metric, Metric__Output as _medfcl_v1_Metric__Output } from './medfcl/v1/Metric.js';
import type { Prompt as _medfcl_v1_Prompt, Prompt__Output as _medfcl_v1_Prompt__Output } from './medfcl/v1/Prompt.js';
import type { Provenance as _medfcl_v1_Provenance, Provenance__Output as _medfcl_v1_Provenance__Output } from './medfcl/v1/Provenance.js';
import type { SiteEvaluationResult as _medfcl_v1_SiteEvaluationResult, SiteEvaluationResult__Output as _medfcl_v1_SiteEvaluationResult__Output } from './medfcl/v1/SiteEvaluationResult.js';
import type { TensorManifest as _medfcl_v1_TensorManifest, TensorManifest__Output as _medfcl_v1_TensorManifest__Output } from './medfcl/v1/TensorManifest.js';
import type { TensorSpec as _medfcl_v1_TensorSpec, TensorSpec__Output as _medfcl_v1_TensorSpec__Output } from './medfcl/v1/TensorSpec.js';
import type { TestSetManifest as _medfcl_v1_TestSetManifest, TestSetManifest__Output as _medfcl_v1_TestSetManifest__Output } from './medfcl/v1/TestSetManifest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  medfcl: {
    v1: {
      Box: MessageTypeDefinition<_medfcl_v1_Box, _medfcl_v1_Box__Output>
      Category: MessageTypeDefinition<_medfcl_v1_Category, _medfcl_v1_Category__Output>
      CategoryAp: MessageTypeDefinition<_medfcl_v1_CategoryAp, _medfcl_v1_CategoryAp__Output>
      Chunk: MessageTypeDefinition<_medfcl_v1_Chunk, _medfcl_v1_Chunk__Output>
      DatasetManifest: MessageTypeDefinition<_medfcl_v1_DatasetManifest, _medfcl_v1_DatasetManifest__Output>
      DeltaEncoding: EnumTypeDefinition
      DropoutPolicy: EnumTypeDefinition
      EvaluationPlacement: EnumTypeDefinition
      ExemplarInfo: MessageTypeDefinition<_medfcl_v1_ExemplarInfo, _medfcl_v1_ExemplarInfo__Output>
      FilterStage: MessageTypeDefinition<_medfcl_v1_FilterStage, _medfcl_v1_FilterStage__Output>
      Hyperparameters: MessageTypeDefinition<_medfcl_v1_Hyperparameters, _medfcl_v1_Hyperparameters__Output>
      Metric: MessageTypeDefinition<_medfcl_v1_Metric, _medfcl_v1_Metric__Output>
      Prompt: MessageTypeDefinition<_medfcl_v1_Prompt, _medfcl_v1_Prompt__Output>
      Provenance: MessageTypeDefinition<_medfcl_v1_Provenance, _medfcl_v1_Provenance__Output>
      ReplaySampler: EnumTypeDefinition
      ShotsSelection: EnumTypeDefinition
      SiteEvaluationResult: MessageTypeDefinition<_medfcl_v1_SiteEvaluationResult, _medfcl_v1_SiteEvaluationResult__Output>
      TensorManifest: MessageTypeDefinition<_medfcl_v1_TensorManifest, _medfcl_v1_TensorManifest__Output>
      TensorSpec: MessageTypeDefinition<_medfcl_v1_TensorSpec, _medfcl_v1_TensorSpec__Output>
      TestSetManifest: MessageTypeDefinition<_medfcl_v1_TestSetManifest, _medfcl_v1_TestSetManifest__Output>
    }
  }
}

