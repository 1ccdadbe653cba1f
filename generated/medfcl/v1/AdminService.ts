// Original file: proto/medfcl/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Audit as _medfcl_v1_Audit, Audit__Output as _medfcl_v1_Audit__Output } from '../../medfcl/v1/Audit.js';
import type { CreateRunRequest as _medfcl_v1_CreateRunRequest, CreateRunRequest__Output as _medfcl_v1_CreateRunRequest__Output } from '../../medfcl/v1/CreateRunRequest.js';
import type { GetAuditRequest as _medfcl_v1_GetAuditRequest, GetAuditRequest__Output as _medfcl_v1_GetAuditRequest__Output } from '../../medfcl/v1/GetAuditRequest.js';
import type { GetRunRequest as _medfcl_v1_GetRunRequest, GetRunRequest__Output as _medfcl_v1_GetRunRequest__Output } from '../../medfcl/v1/GetRunRequest.js';
import type { ListRunsRequest as _medfcl_v1_ListRunsRequest, ListRunsRequest__Output as _medfcl_v1_ListRunsRequest__Output } from '../../medfcl/v1/ListRunsRequest.js';
import type { ListRunsResponse as _medfcl_v1_ListRunsResponse, ListRunsResponse__Output as _medfcl_v1_ListRunsResponse__Output } from '../../medfcl/v1/ListRunsResponse.js';
import type { ModelChunk as _medfcl_v1_ModelChunk, ModelChunk__Output as _medfcl_v1_ModelChunk__Output } from '../../medfcl/v1/ModelChunk.js';
import type { PullModelVersionRequest as _medfcl_v1_PullModelVersionRequest, PullModelVersionRequest__Output as _medfcl_v1_PullModelVersionRequest__Output } from '../../medfcl/v1/PullModelVersionRequest.js';
import type { Run as _medfcl_v1_Run, Run__Output as _medfcl_v1_Run__Output } from '../../medfcl/v1/Run.js';

export interface AdminServiceClient extends grpc.Client {
  CreateRun(argument: _medfcl_v1_CreateRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  CreateRun(argument: _medfcl_v1_CreateRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  CreateRun(argument: _medfcl_v1_CreateRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  CreateRun(argument: _medfcl_v1_CreateRunRequest, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  createRun(argument: _medfcl_v1_CreateRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  createRun(argument: _medfcl_v1_CreateRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  createRun(argument: _medfcl_v1_CreateRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  createRun(argument: _medfcl_v1_CreateRunRequest, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  
  GetAudit(argument: _medfcl_v1_GetAuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  GetAudit(argument: _medfcl_v1_GetAuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  GetAudit(argument: _medfcl_v1_GetAuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  GetAudit(argument: _medfcl_v1_GetAuditRequest, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  getAudit(argument: _medfcl_v1_GetAuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  getAudit(argument: _medfcl_v1_GetAuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  getAudit(argument: _medfcl_v1_GetAuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  getAudit(argument: _medfcl_v1_GetAuditRequest, callback: grpc.requestCallback<_medfcl_v1_Audit__Output>): grpc.ClientUnaryCall;
  
  GetRun(argument: _medfcl_v1_GetRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _medfcl_v1_GetRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _medfcl_v1_GetRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _medfcl_v1_GetRunRequest, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _medfcl_v1_GetRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _medfcl_v1_GetRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _medfcl_v1_GetRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _medfcl_v1_GetRunRequest, callback: grpc.requestCallback<_medfcl_v1_Run__Output>): grpc.ClientUnaryCall;
  
  ListRuns(argument: _medfcl_v1_ListRunsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _medfcl_v1_ListRunsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _medfcl_v1_ListRunsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _medfcl_v1_ListRunsRequest, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _medfcl_v1_ListRunsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _medfcl_v1_ListRunsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _medfcl_v1_ListRunsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _medfcl_v1_ListRunsRequest, callback: grpc.requestCallback<_medfcl_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  
  PullModelVersion(argument: _medfcl_v1_PullModelVersionRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  PullModelVersion(argument: _medfcl_v1_PullModelVersionRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  pullModelVersion(argument: _medfcl_v1_PullModelVersionRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  pullModelVersion(argument: _medfcl_v1_PullModelVersionRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  
}

export interface AdminServiceHandlers extends grpc.UntypedServiceImplementation {
  CreateRun: grpc.handleUnaryCall<_medfcl_v1_CreateRunRequest__Output, _medfcl_v1_Run>;
  
  GetAudit: grpc.handleUnaryCall<_medfcl_v1_GetAuditRequest__Output, _medfcl_v1_Audit>;
  
  GetRun: grpc.handleUnaryCall<_medfcl_v1_GetRunRequest__Output, _medfcl_v1_Run>;
  
  ListRuns: grpc.handleUnaryCall<_medfcl_v1_ListRunsRequest__Output, _medfcl_v1_ListRunsResponse>;
  
  PullModelVersion: grpc.handleServerStreamingCall<_medfcl_v1_PullModelVersionRequest__Output, _medfcl_v1_ModelChunk>;
  
}

export interface AdminServiceDefinition extends grpc.ServiceDefinition {
  CreateRun: MethodDefinition<_medfcl_v1_CreateRunRequest, _medfcl_v1_Run, _medfcl_v1_CreateRunRequest__Output, _medfcl_v1_Run__Output>
  GetAudit: MethodDefinition<_medfcl_v1_GetAuditRequest, _medfcl_v1_Audit, _medfcl_v1_GetAuditRequest__Output, _medfcl_v1_Audit__Output>
  GetRun: MethodDefinition<_medfcl_v1_GetRunRequest, _medfcl_v1_Run, _medfcl_v1_GetRunRequest__Output, _medfcl_v1_Run__Output>
  ListRuns: MethodDefinition<_medfcl_v1_ListRunsRequest, _medfcl_v1_ListRunsResponse, _medfcl_v1_ListRunsRequest__Output, _medfcl_v1_ListRunsResponse__Output>
  PullModelVersion: MethodDefinition<_medfcl_v1_PullModelVersionRequest, _medfcl_v1_ModelChunk, _medfcl_v1_PullModelVersionRequest__Output, _medfcl_v1_ModelChunk__Output>
}
