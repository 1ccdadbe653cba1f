export { medfclProto, packageDefinition, protoRoot, PROTO_FILES, PROTO_LOADER_OPTIONS } from "./proto.js";
export { channelOptions, serverOptions, serverCredentials, clientCredentials, MAX_MESSAGE_BYTES, type TlsFiles } from "./channel.js";
