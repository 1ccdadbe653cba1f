// Original file: proto/medfcl/v1/site.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ExemplarMessage as _medfcl_v1_ExemplarMessage, ExemplarMessage__Output as _medfcl_v1_ExemplarMessage__Output } from '../../medfcl/v1/ExemplarMessage.js';
import type { HeartbeatRequest as _medfcl_v1_HeartbeatRequest, HeartbeatRequest__Output as _medfcl_v1_HeartbeatRequest__Output } from '../../medfcl/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _medfcl_v1_HeartbeatResponse, HeartbeatResponse__Output as _medfcl_v1_HeartbeatResponse__Output } from '../../medfcl/v1/HeartbeatResponse.js';
import type { ModelChunk as _medfcl_v1_ModelChunk, ModelChunk__Output as _medfcl_v1_ModelChunk__Output } from '../../medfcl/v1/ModelChunk.js';
import type { NextTaskRequest as _medfcl_v1_NextTaskRequest, NextTaskRequest__Output as _medfcl_v1_NextTaskRequest__Output } from '../../medfcl/v1/NextTaskRequest.js';
import type { NextTaskResponse as _medfcl_v1_NextTaskResponse, NextTaskResponse__Output as _medfcl_v1_NextTaskResponse__Output } from '../../medfcl/v1/NextTaskResponse.js';
import type { PullExemplarsRequest as _medfcl_v1_PullExemplarsRequest, PullExemplarsRequest__Output as _medfcl_v1_PullExemplarsRequest__Output } from '../../medfcl/v1/PullExemplarsRequest.js';
import type { PullModelRequest as _medfcl_v1_PullModelRequest, PullModelRequest__Output as _medfcl_v1_PullModelRequest__Output } from '../../medfcl/v1/PullModelRequest.js';
import type { PushExemplarsResponse as _medfcl_v1_PushExemplarsResponse, PushExemplarsResponse__Output as _medfcl_v1_PushExemplarsResponse__Output } from '../../medfcl/v1/PushExemplarsResponse.js';
import type { PushUpdateMessage as _medfcl_v1_PushUpdateMessage, PushUpdateMessage__Output as _medfcl_v1_PushUpdateMessage__Output } from '../../medfcl/v1/PushUpdateMessage.js';
import type { PushUpdateResponse as _medfcl_v1_PushUpdateResponse, PushUpdateResponse__Output as _medfcl_v1_PushUpdateResponse__Output } from '../../medfcl/v1/PushUpdateResponse.js';
import type { RegisterRequest as _medfcl_v1_RegisterRequest, RegisterRequest__Output as _medfcl_v1_RegisterRequest__Output } from '../../medfcl/v1/RegisterRequest.js';
import type { RegisterResponse as _medfcl_v1_RegisterResponse, RegisterResponse__Output as _medfcl_v1_RegisterResponse__Output } from '../../medfcl/v1/RegisterResponse.js';
import type { ReportEvaluationRequest as _medfcl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _medfcl_v1_ReportEvaluationRequest__Output } from '../../medfcl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _medfcl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _medfcl_v1_ReportEvaluationResponse__Output } from '../../medfcl/v1/ReportEvaluationResponse.js';
import type { ReportMetricsRequest as _medfcl_v1_ReportMetricsRequest, ReportMetricsRequest__Output as _medfcl_v1_ReportMetricsRequest__Output } from '../../medfcl/v1/ReportMetricsRequest.js';
import type { ReportMetricsResponse as _medfcl_v1_ReportMetricsResponse, ReportMetricsResponse__Output as _medfcl_v1_ReportMetricsResponse__Output } from '../../medfcl/v1/ReportMetricsResponse.js';
import type { SecAggKeysRequest as _medfcl_v1_SecAggKeysRequest, SecAggKeysRequest__Output as _medfcl_v1_SecAggKeysRequest__Output } from '../../medfcl/v1/SecAggKeysRequest.js';
import type { SecAggKeysResponse as _medfcl_v1_SecAggKeysResponse, SecAggKeysResponse__Output as _medfcl_v1_SecAggKeysResponse__Output } from '../../medfcl/v1/SecAggKeysResponse.js';
import type { SecAggSharesRequest as _medfcl_v1_SecAggSharesRequest, SecAggSharesRequest__Output as _medfcl_v1_SecAggSharesRequest__Output } from '../../medfcl/v1/SecAggSharesRequest.js';
import type { SecAggSharesResponse as _medfcl_v1_SecAggSharesResponse, SecAggSharesResponse__Output as _medfcl_v1_SecAggSharesResponse__Output } from '../../medfcl/v1/SecAggSharesResponse.js';
import type { SecAggUnmaskRequest as _medfcl_v1_SecAggUnmaskRequest, SecAggUnmaskRequest__Output as _medfcl_v1_SecAggUnmaskRequest__Output } from '../../medfcl/v1/SecAggUnmaskRequest.js';
import type { SecAggUnmaskResponse as _medfcl_v1_SecAggUnmaskResponse, SecAggUnmaskResponse__Output as _medfcl_v1_SecAggUnmaskResponse__Output } from '../../medfcl/v1/SecAggUnmaskResponse.js';

export interface SiteServiceClient extends grpc.Client {
  Heartbeat(argument: _medfcl_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _medfcl_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _medfcl_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _medfcl_v1_HeartbeatRequest, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _medfcl_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _medfcl_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _medfcl_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _medfcl_v1_HeartbeatRequest, callback: grpc.requestCallback<_medfcl_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  NextTask(argument: _medfcl_v1_NextTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  NextTask(argument: _medfcl_v1_NextTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  NextTask(argument: _medfcl_v1_NextTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  NextTask(argument: _medfcl_v1_NextTaskRequest, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  nextTask(argument: _medfcl_v1_NextTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  nextTask(argument: _medfcl_v1_NextTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  nextTask(argument: _medfcl_v1_NextTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  nextTask(argument: _medfcl_v1_NextTaskRequest, callback: grpc.requestCallback<_medfcl_v1_NextTaskResponse__Output>): grpc.ClientUnaryCall;
  
  PullExemplars(argument: _medfcl_v1_PullExemplarsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ExemplarMessage__Output>;
  PullExemplars(argument: _medfcl_v1_PullExemplarsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ExemplarMessage__Output>;
  pullExemplars(argument: _medfcl_v1_PullExemplarsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ExemplarMessage__Output>;
  pullExemplars(argument: _medfcl_v1_PullExemplarsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ExemplarMessage__Output>;
  
  PullModel(argument: _medfcl_v1_PullModelRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  PullModel(argument: _medfcl_v1_PullModelRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  pullModel(argument: _medfcl_v1_PullModelRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  pullModel(argument: _medfcl_v1_PullModelRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_medfcl_v1_ModelChunk__Output>;
  
  PushExemplars(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  PushExemplars(metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  PushExemplars(options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  PushExemplars(callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  pushExemplars(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  pushExemplars(metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  pushExemplars(options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  pushExemplars(callback: grpc.requestCallback<_medfcl_v1_PushExemplarsResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_ExemplarMessage>;
  
  PushUpdate(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  PushUpdate(metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  PushUpdate(options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  PushUpdate(callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  pushUpdate(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  pushUpdate(metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  pushUpdate(options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  pushUpdate(callback: grpc.requestCallback<_medfcl_v1_PushUpdateResponse__Output>): grpc.ClientWritableStream<_medfcl_v1_PushUpdateMessage>;
  
  Register(argument: _medfcl_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _medfcl_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _medfcl_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _medfcl_v1_RegisterRequest, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _medfcl_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _medfcl_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _medfcl_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _medfcl_v1_RegisterRequest, callback: grpc.requestCallback<_medfcl_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  
  ReportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _medfcl_v1_ReportEvaluationRequest, callback: grpc.requestCallback<_medfcl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  
  ReportMetrics(argument: _medfcl_v1_ReportMetricsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  ReportMetrics(argument: _medfcl_v1_ReportMetricsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  ReportMetrics(argument: _medfcl_v1_ReportMetricsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  ReportMetrics(argument: _medfcl_v1_ReportMetricsRequest, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  reportMetrics(argument: _medfcl_v1_ReportMetricsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  reportMetrics(argument: _medfcl_v1_ReportMetricsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  reportMetrics(argument: _medfcl_v1_ReportMetricsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  reportMetrics(argument: _medfcl_v1_ReportMetricsRequest, callback: grpc.requestCallback<_medfcl_v1_ReportMetricsResponse__Output>): grpc.ClientUnaryCall;
  
  SecAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  SecAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  SecAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  SecAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  secAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  secAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  secAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  secAggAdvertiseKeys(argument: _medfcl_v1_SecAggKeysRequest, callback: grpc.requestCallback<_medfcl_v1_SecAggKeysResponse__Output>): grpc.ClientUnaryCall;
  
  SecAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  SecAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  SecAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  SecAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  secAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  secAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  secAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  secAggShareKeys(argument: _medfcl_v1_SecAggSharesRequest, callback: grpc.requestCallback<_medfcl_v1_SecAggSharesResponse__Output>): grpc.ClientUnaryCall;
  
  SecAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  SecAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  SecAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  SecAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  secAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  secAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  secAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  secAggUnmask(argument: _medfcl_v1_SecAggUnmaskRequest, callback: grpc.requestCallback<_medfcl_v1_SecAggUnmaskResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface SiteServiceHandlers extends grpc.UntypedServiceImplementation {
  Heartbeat: grpc.handleUnaryCall<_medfcl_v1_HeartbeatRequest__Output, _medfcl_v1_HeartbeatResponse>;
  
  NextTask: grpc.handleUnaryCall<_medfcl_v1_NextTaskRequest__Output, _medfcl_v1_NextTaskResponse>;
  
  PullExemplars: grpc.handleServerStreamingCall<_medfcl_v1_PullExemplarsRequest__Output, _medfcl_v1_ExemplarMessage>;
  
  PullModel: grpc.handleServerStreamingCall<_medfcl_v1_PullModelRequest__Output, _medfcl_v1_ModelChunk>;
  
  PushExemplars: grpc.handleClientStreamingCall<_medfcl_v1_ExemplarMessage__Output, _medfcl_v1_PushExemplarsResponse>;
  
  PushUpdate: grpc.handleClientStreamingCall<_medfcl_v1_PushUpdateMessage__Output, _medfcl_v1_PushUpdateResponse>;
  
  Register: grpc.handleUnaryCall<_medfcl_v1_RegisterRequest__Output, _medfcl_v1_RegisterResponse>;
  
  ReportEvaluation: grpc.handleUnaryCall<_medfcl_v1_ReportEvaluationRequest__Output, _medfcl_v1_ReportEvaluationResponse>;
  
  ReportMetrics: grpc.handleUnaryCall<_medfcl_v1_ReportMetricsRequest__Output, _medfcl_v1_ReportMetricsResponse>;
  
  SecAggAdvertiseKeys: grpc.handleUnaryCall<_medfcl_v1_SecAggKeysRequest__Output, _medfcl_v1_SecAggKeysResponse>;
  
  SecAggShareKeys: grpc.handleUnaryCall<_medfcl_v1_SecAggSharesRequest__Output, _medfcl_v1_SecAggSharesResponse>;
  
  SecAggUnmask: grpc.handleUnaryCall<_medfcl_v1_SecAggUnmaskRequest__Output, _medfcl_v1_SecAggUnmaskResponse>;
  
}

export interface SiteServiceDefinition extends grpc.ServiceDefinition {
  Heartbeat: MethodDefinition<_medfcl_v1_HeartbeatRequest, _medfcl_v1_HeartbeatResponse, _medfcl_v1_HeartbeatRequest__Output, _medfcl_v1_HeartbeatResponse__Output>
  NextTask: MethodDefinition<_medfcl_v1_NextTaskRequest, _medfcl_v1_NextTaskResponse, _medfcl_v1_NextTaskRequest__Output, _medfcl_v1_NextTaskResponse__Output>
  PullExemplars: MethodDefinition<_medfcl_v1_PullExemplarsRequest, _medfcl_v1_ExemplarMessage, _medfcl_v1_PullExemplarsRequest__Output, _medfcl_v1_ExemplarMessage__Output>
  PullModel: MethodDefinition<_medfcl_v1_PullModelRequest, _medfcl_v1_ModelChunk, _medfcl_v1_PullModelRequest__Output, _medfcl_v1_ModelChunk__Output>
  PushExemplars: MethodDefinition<_medfcl_v1_ExemplarMessage, _medfcl_v1_PushExemplarsResponse, _medfcl_v1_ExemplarMessage__Output, _medfcl_v1_PushExemplarsResponse__Output>
  PushUpdate: MethodDefinition<_medfcl_v1_PushUpdateMessage, _medfcl_v1_PushUpdateResponse, _medfcl_v1_PushUpdateMessage__Output, _medfcl_v1_PushUpdateResponse__Output>
  Register: MethodDefinition<_medfcl_v1_RegisterRequest, _medfcl_v1_RegisterResponse, _medfcl_v1_RegisterRequest__Output, _medfcl_v1_RegisterResponse__Output>
  ReportEvaluation: MethodDefinition<_medfcl_v1_ReportEvaluationRequest, _medfcl_v1_ReportEvaluationResponse, _medfcl_v1_ReportEvaluationRequest__Output, _medfcl_v1_ReportEvaluationResponse__Output>
  ReportMetrics: MethodDefinition<_medfcl_v1_ReportMetricsRequest, _medfcl_v1_ReportMetricsResponse, _medfcl_v1_ReportMetricsRequest__Output, _medfcl_v1_ReportMetricsResponse__Output>
  SecAggAdvertiseKeys: MethodDefinition<_medfcl_v1_SecAggKeysRequest, _medfcl_v1_SecAggKeysResponse, _medfcl_v1_SecAggKeysRequest__Output, _medfcl_v1_SecAggKeysResponse__Output>
  SecAggShareKeys: MethodDefinition<_medfcl_v1_SecAggSharesRequest, _medfcl_v1_SecAggSharesResponse, _medfcl_v1_SecAggSharesRequest__Output, _medfcl_v1_SecAggSharesResponse__Output>
  SecAggUnmask: MethodDefinition<_medfcl_v1_SecAggUnmaskRequest, _medfcl_v1_SecAggUnmaskResponse, _medfcl_v1_SecAggUnmaskRequest__Output, _medfcl_v1_SecAggUnmaskResponse__Output>
}
